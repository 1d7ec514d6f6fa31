package io.understudy.core;

import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one-line log format, and its writer thread: every line written, in order, by the time a flush returns. */
class LogFormatTest {
    private static LogRecord record(String message, Object... params) {
        LogRecord r = new LogRecord(Level.INFO, message);
        r.setLoggerName("io.understudy.relay.Completions");
        r.setInstant(Instant.parse("2026-12-06T18:41:52.858Z"));
        r.setParameters(params);
        return r;
    }

    @Test
    void aLineReadsAsTheSimpleFormatterPatternWroteIt() {
        LogRecord r = record("served {0} in {1} ms", "gpt-4o", 12);
        String pattern = "%1$tF %1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n";
        String expected = String.format(pattern, java.time.ZonedDateTime.ofInstant(r.getInstant(), ZoneOffset.UTC), "",
                r.getLoggerName(), r.getLevel().getLocalizedName(), new SimpleFormatter().formatMessage(r), "");
        assertEquals(expected, new LogFormat.OneLine(ZoneOffset.UTC).format(r));
        assertEquals("2026-12-06 18:41:52.858 INFO    [io.understudy.relay.Completions] served gpt-4o in 12 ms" + System.lineSeparator(),
                expected);
    }

    @Test
    void aThrowableFollowsItsLineWithItsStackTrace() {
        LogRecord r = record("broke");
        r.setThrown(new IllegalStateException("boom"));
        String line = new LogFormat.OneLine(ZoneOffset.UTC).format(r);
        assertTrue(line.startsWith("2026-12-06 18:41:52.858 INFO    [io.understudy.relay.Completions] broke" + System.lineSeparator()
                + "java.lang.IllegalStateException: boom"), line);
    }

    @Test
    void everyLineIsWrittenInOrderByTheTimeAFlushReturns() {
        StringWriter out = new StringWriter();
        LogFormat.LineHandler handler = new LogFormat.LineHandler(new LogFormat.OneLine(ZoneOffset.UTC), out);
        for (int i = 0; i < 5_000; i++) {
            handler.publish(record("line " + i));
        }
        handler.flush();
        String[] lines = out.toString().split(System.lineSeparator());
        assertEquals(5_000, lines.length);
        for (int i = 0; i < lines.length; i++) {
            assertTrue(lines[i].endsWith("] line " + i), lines[i]);
        }
        handler.close();
        handler.publish(record("after close"));
        handler.flush();
        assertEquals(5_000, out.toString().split(System.lineSeparator()).length, "nothing is written after close");
    }
}
