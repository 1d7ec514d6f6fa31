package io.understudy.agent;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One thread that checks every stream in flight each {@link #TICK}: each check looks at one stream
 * (its silence, its pace, its upstream's verdict), may abort it, and says whether it still needs
 * watching. It replaced a watching virtual thread per stream, which woke on its own timer several
 * times per stream and held its stack (about 7 KB) for the stream's whole life. With no stream
 * to watch the thread parks until one comes, so an idle agent does not wake.
 */
final class StreamWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StreamWatcher.class.getName());
    /** How often each stream is checked: what a stall or a verdict can wait before it is acted on. */
    static final Duration TICK = Duration.ofMillis(20);

    /** One stream's check, run each tick: false when the stream needs no more watching (read, or aborted). */
    @FunctionalInterface
    interface Check {
        boolean stillWatching();
    }

    private final Set<Check> checks = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean closed;

    StreamWatcher() {
        thread = Thread.ofPlatform().daemon().name("understudy-stream-watch").unstarted(this::run);
        thread.start();
    }

    /** Checks {@code check} each tick from now on, until it returns false. */
    void watch(Check check) {
        checks.add(check);
        LockSupport.unpark(thread); // it may be parked with nothing to watch
    }

    /** Streams watched now. */
    int watched() {
        return checks.size();
    }

    private void run() {
        while (!closed) {
            if (checks.isEmpty()) {
                LockSupport.park(this); // watch() and close() unpark it
                continue;
            }
            LockSupport.parkNanos(this, TICK.toNanos());
            for (Check check : checks) {
                if (!checkOnce(check)) {
                    checks.remove(check);
                }
            }
        }
    }

    /** A check that throws is a bug: it is logged and dropped, and the other streams stay watched. */
    private static boolean checkOnce(Check check) {
        try {
            return check.stillWatching();
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "a stream's watch failed; that stream is no longer watched", e);
            return false;
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
