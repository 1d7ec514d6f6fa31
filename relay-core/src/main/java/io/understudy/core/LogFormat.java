package io.understudy.core;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.ErrorManager;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The log line every Understudy process writes: one line, to the millisecond, so failovers can be
 * timed from logs ({@code 2026-12-06 18:41:52.858 INFO    [logger] message}).
 *
 * <p>Written off the request path. The JDK's console handler formats with {@code String.format},
 * walks the stack to find each record's source (which this format never prints), and writes and
 * flushes stderr under a lock for every record: in a relay's profile under load, its one request
 * line per request took 15% of the process's CPU. Here a record is formatted by the thread that
 * logs it and queued; one writer thread writes what is queued and flushes whenever the queue runs
 * dry, so a line reaches the file within moments and a burst costs one flush, not one per line.
 */
public final class LogFormat {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    private LogFormat() {
    }

    /**
     * Installs the one-line format and its handler on the root logger, in place of the JDK's console
     * handler, unless the operator configured logging themselves (a logging config file, or a
     * SimpleFormatter format). Call first thing in main.
     */
    public static void oneLine() {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") != null
                || System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        Logger root = LogManager.getLogManager().getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.addHandler(new LineHandler(new OneLine(ZoneId.systemDefault()),
                new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8)));
    }

    /** The one-line format: time to the millisecond, level, logger, message, and a throwable's stack trace below it. */
    public static final class OneLine extends Formatter {
        private final ZoneId zone;

        public OneLine(ZoneId zone) {
            this.zone = zone;
        }

        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(128);
            TIME.formatTo(record.getInstant().atZone(zone), line);
            String level = record.getLevel().getLocalizedName();
            line.append(' ').append(level);
            for (int pad = level.length(); pad < 7; pad++) {
                line.append(' ');
            }
            line.append(" [").append(record.getLoggerName() == null ? "" : record.getLoggerName()).append("] ")
                    .append(formatMessage(record));
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                try (PrintWriter out = new PrintWriter(trace)) {
                    out.println();
                    record.getThrown().printStackTrace(out);
                }
                line.append(trace);
            }
            return line.append(System.lineSeparator()).toString();
        }
    }

    /**
     * Formats on the logging thread, writes on one daemon thread: each queued line is written, and the
     * writer is flushed when nothing more is queued. {@link #flush} and {@link #close} wait until what
     * was queued before them is written (LogManager closes handlers at exit, so nothing queued is lost
     * then; a SIGKILL loses at most the lines of the last moment).
     */
    static final class LineHandler extends Handler {
        /** Lines waiting past this are dropped and counted rather than let the heap grow without bound. */
        private static final int MAX_QUEUED = 100_000;
        private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>(MAX_QUEUED);
        private final Writer out;
        private final Thread writer;
        private volatile boolean closed;
        private long dropped; // written by loggers racing on a full queue: a count for the next line, not exact

        /** A barrier in the queue: completes once every line before it is written and flushed. */
        private record Mark(java.util.concurrent.CountDownLatch done) {
        }

        LineHandler(Formatter formatter, Writer out) {
            this.out = new BufferedWriter(out, 64 * 1024);
            setFormatter(formatter);
            setLevel(Level.ALL);
            this.writer = Thread.ofPlatform().daemon().name("log-writer").start(this::drain);
        }

        @Override
        public void publish(LogRecord record) {
            if (closed || !isLoggable(record)) {
                return;
            }
            String line;
            try {
                line = getFormatter().format(record);
            } catch (RuntimeException e) {
                reportError(null, e, ErrorManager.FORMAT_FAILURE);
                return;
            }
            if (!queue.offer(line)) {
                dropped++;
            }
        }

        @Override
        public void flush() {
            Mark mark = new Mark(new java.util.concurrent.CountDownLatch(1));
            try {
                queue.put(mark);
                mark.done().await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            flush();
            closed = true;
        }

        private void drain() {
            while (true) {
                try {
                    Object next = queue.take();
                    write(next);
                    for (Object more = queue.poll(); more != null; more = queue.poll()) {
                        write(more);
                    }
                    out.flush();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (IOException e) {
                    reportError(null, e, ErrorManager.WRITE_FAILURE);
                }
            }
        }

        private void write(Object next) throws IOException {
            if (next instanceof Mark mark) {
                out.flush();
                mark.done().countDown();
                return;
            }
            if (dropped > 0) {
                long lost = dropped;
                dropped = 0;
                out.write("(" + lost + " log lines dropped: the log could not keep up)" + System.lineSeparator());
            }
            out.write((String) next);
        }
    }
}
