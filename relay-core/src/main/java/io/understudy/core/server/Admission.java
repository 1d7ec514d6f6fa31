package io.understudy.core.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many requests a process serves at once. Past the limit a request is refused at once with a
 * 503 and {@code Retry-After: 1}, so a burst costs the callers a retry instead of costing the
 * process its heap: an open stream holds about 73 KB of live heap (measured on the agent with 1,000
 * streams held open), and 2,000 of them in a 128 MB heap ran it out of memory, so most of them failed.
 */
public final class Admission {
    /** Heap set aside for everything but requests (the agent's live heap at rest is about 20 MB). */
    static final long HEAP_AT_REST = 24L * 1024 * 1024;
    /**
     * Heap counted per request in flight: twice an open stream's 73 KB. With 1,064 streams in flight
     * in a 123 MB heap (96 KB each) 90 MB stayed live after each full collection, and full
     * collections ran back to back: a collector needs room beside what survives.
     */
    static final long HEAP_PER_REQUEST = 160L * 1024;
    static final int MIN_LIMIT = 64;
    /** A burst past the limit is logged once per this span; the metric counts every refusal. */
    static final long LOG_EVERY_MILLIS = 10_000;

    private final int limit;
    private final Semaphore permits;
    private final AtomicLong lastLoggedMillis = new AtomicLong(Long.MIN_VALUE / 2);

    public Admission(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1: " + limit);
        }
        this.limit = limit;
        this.permits = new Semaphore(limit);
    }

    /** The limit a heap of {@code maxHeapBytes} holds: what is left after the rest, per request; at least 64. */
    public static int limitForHeap(long maxHeapBytes) {
        return (int) Math.max(MIN_LIMIT, Math.min(Integer.MAX_VALUE, (maxHeapBytes - HEAP_AT_REST) / HEAP_PER_REQUEST));
    }

    /** {@code configured} when set (above 0), else what this JVM's maximum heap holds. */
    public static Admission of(int configured) {
        return new Admission(configured > 0 ? configured : limitForHeap(Runtime.getRuntime().maxMemory()));
    }

    /** True when the request may go on; it must then {@link #leave()} once done. Never waits. */
    public boolean tryEnter() {
        return permits.tryAcquire();
    }

    public void leave() {
        permits.release();
    }

    public int limit() {
        return limit;
    }

    public int inFlight() {
        return limit - permits.availablePermits();
    }

    /** The refusal a caller gets past the limit: 503, code {@code overloaded}. */
    public Failure refusal(String who) {
        return new Failure.Retryable(Origin.LOCAL, "local", 503, "overloaded",
                who + " is serving its limit of " + limit + " requests at once (server.max-concurrent-requests); retry in a second");
    }

    /**
     * Answers a request past the limit: {@link #refusal} with {@code Retry-After: 1}. True when the
     * caller should log it: the first refusal of each {@value #LOG_EVERY_MILLIS} ms.
     */
    public boolean refuse(ServerResponse res, Api api, String who, long nowMillis) {
        res.header(HeaderNames.RETRY_AFTER, "1");
        ApiErrors.send(res, api, refusal(who), null);
        long last = lastLoggedMillis.get();
        return nowMillis - last >= LOG_EVERY_MILLIS && lastLoggedMillis.compareAndSet(last, nowMillis);
    }

    /** The warning a caller logs when {@link #refuse} says so: the request's path and the metric that counts them all. */
    public String overLimitWarning(String path, String metric) {
        return "refusing requests over the limit of " + limit + " at once (server.max-concurrent-requests; "
                + "the default follows the heap, -Xmx): " + path + " got 503; counted in " + metric;
    }
}
