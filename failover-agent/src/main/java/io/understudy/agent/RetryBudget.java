package io.understudy.agent;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Retries plus failovers stay under {@code ratio} of the requests seen over a sliding window,
 * with a small floor so a quiet agent can still retry (Envoy's retry budget). An outage then
 * never multiplies the load on whatever is still up.
 */
public final class RetryBudget {
    private static final int BUCKETS = 10;

    private final double ratio;
    private final int minRetries;
    private final long bucketMillis;
    private final LongSupplier clockMillis;
    private final long[] requests = new long[BUCKETS];
    private final long[] retries = new long[BUCKETS];
    private final long[] bucketStart = new long[BUCKETS];
    private long exhausted;

    public RetryBudget(double ratio, int minRetries, Duration window, LongSupplier clockMillis) {
        if (ratio < 0 || ratio > 10) {
            throw new IllegalArgumentException("retry budget ratio must be between 0 and 10");
        }
        if (window.toMillis() < BUCKETS) {
            throw new IllegalArgumentException("retry budget window too short");
        }
        this.ratio = ratio;
        this.minRetries = minRetries;
        this.bucketMillis = window.toMillis() / BUCKETS;
        this.clockMillis = clockMillis;
    }

    /** Counts a client request (the first attempt is free). */
    public synchronized void recordRequest() {
        requests[bucket()]++;
    }

    /** Takes one retry from the budget; false when the budget is spent (the caller must not retry). */
    public synchronized boolean tryAcquireRetry() {
        int current = bucket();
        long reqs = 0;
        long used = 0;
        for (int i = 0; i < BUCKETS; i++) {
            reqs += requests[i];
            used += retries[i];
        }
        if (used >= allowed(reqs)) {
            exhausted++;
            return false;
        }
        retries[current]++;
        return true;
    }

    public synchronized Snapshot snapshot() {
        bucket();
        long reqs = 0;
        long used = 0;
        for (int i = 0; i < BUCKETS; i++) {
            reqs += requests[i];
            used += retries[i];
        }
        return new Snapshot(reqs, used, allowed(reqs), exhausted);
    }

    /** Requests and retries in the window, the retries allowed, and how often the budget said no. */
    public record Snapshot(long requests, long retries, long allowed, long exhaustedTotal) {
    }

    private long allowed(long reqs) {
        return Math.max(minRetries, (long) Math.floor(reqs * ratio));
    }

    /** The current bucket, clearing buckets that fell out of the window. */
    private int bucket() {
        long now = clockMillis.getAsLong();
        long start = now - Math.floorMod(now, bucketMillis);
        int index = (int) Math.floorMod(now / bucketMillis, (long) BUCKETS);
        if (bucketStart[index] != start) {
            bucketStart[index] = start;
            requests[index] = 0;
            retries[index] = 0;
        }
        for (int i = 0; i < BUCKETS; i++) {
            if (now - bucketStart[i] >= bucketMillis * BUCKETS) {
                requests[i] = 0;
                retries[i] = 0;
            }
        }
        return index;
    }
}
