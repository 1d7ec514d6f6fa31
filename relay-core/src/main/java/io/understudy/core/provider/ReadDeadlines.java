package io.understudy.core.provider;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Read timeouts kept by the transport, not by the socket. Helidon's idle-connection monitor takes
 * a pooled connection's socket timeout as how long it may sit idle; a request that takes the
 * connection in the last 101 ms of that span has its first read fail at once, after the request
 * was sent (helidon#10861), and the caller cannot tell whether the upstream got it. So sockets
 * get a long timeout (their idle span), a stream's body none at all while it is read
 * ({@link HttpTransport#streamBody}), and every wait for an upstream's bytes is bounded here:
 * a reading thread that has waited its read timeout without a byte is interrupted, which on a
 * virtual thread closes the socket and ends the read. One ticker per transport, running only
 * while some read waits.
 */
final class ReadDeadlines {
    private static final long TICK_MILLIS = 10;

    private final Set<Read> waiting = ConcurrentHashMap.newKeySet();
    private Thread ticker; // guarded by this

    /** One wait for bytes by the current thread, bounded by a timeout. End it whatever happens. */
    final class Read {
        private static final int WAITING = 0;
        private static final int ENDED = 1;
        private static final int FIRED = 2;

        private final Thread reader = Thread.currentThread();
        private final long dueNanos;
        private final AtomicInteger state = new AtomicInteger(WAITING);

        private Read(Duration timeout) {
            this.dueNanos = System.nanoTime() + timeout.toNanos();
        }

        /**
         * Ends the wait. True when its deadline fired first: the read failed (or would have) because
         * of it, and the interrupt that ended it is consumed, so it is reported as a timeout.
         */
        boolean end() {
            waiting.remove(this);
            if (state.compareAndSet(WAITING, ENDED)) {
                return false;
            }
            synchronized (this) {
                // the ticker interrupts while holding this lock: here, the interrupt has landed
            }
            Thread.interrupted();
            return true;
        }

        private void fireIfDue(long now) {
            if (now - dueNanos >= 0 && state.compareAndSet(WAITING, FIRED)) {
                synchronized (this) {
                    reader.interrupt();
                }
                waiting.remove(this);
            }
        }
    }

    /** True when deadlines can bound a read on this thread: only a virtual thread's socket read ends when interrupted. */
    static boolean applies() {
        return Thread.currentThread().isVirtual();
    }

    Read begin(Duration timeout) {
        Read read = new Read(timeout);
        waiting.add(read);
        synchronized (this) {
            if (ticker == null) {
                ticker = Thread.ofVirtual().name("read-deadlines").start(this::tick);
            }
        }
        return read;
    }

    private void tick() {
        while (true) {
            try {
                TimeUnit.MILLISECONDS.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                synchronized (this) {
                    ticker = null;
                }
                return;
            }
            long now = System.nanoTime();
            for (Read read : waiting) {
                read.fireIfDue(now);
            }
            synchronized (this) {
                if (waiting.isEmpty()) {
                    ticker = null;
                    return;
                }
            }
        }
    }
}
