package io.understudy.core.failover;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Bounds the retries that could multiply load on a live upstream, as Finagle's RetryBudget does:
 * every request deposits {@code ratio} of a retry, and a reserve of {@code reservePerSecond} retries
 * per second of the window is always there, so an agent that has just started, or a quiet one, can
 * still retry. Deposits and withdrawals leave the window after {@code window}.
 *
 * <p>Redirects are not retries: moving a request off an upstream that is out of rotation (refused,
 * marked down, circuit open) sends nothing more to that upstream and no more requests in total, so
 * {@link #recordRedirect()} counts them and never refuses. Retries, redirects and refusals are
 * counted apart, for /status and the metrics.
 */
public final class RetryBudget {
    private static final int BUCKETS = 10;

    private final double ratio;
    private final long reserve;
    private final long bucketMillis;
    private final LongSupplier clockMillis;
    private final long[] requests = new long[BUCKETS];
    private final long[] retries = new long[BUCKETS];
    private final long[] redirects = new long[BUCKETS];
    private final long[] bucketStart = new long[BUCKETS];
    private long retriesTotal;
    private long redirectsTotal;
    private long exhaustedTotal;

    public RetryBudget(double ratio, int reservePerSecond, Duration window, LongSupplier clockMillis) {
        if (ratio < 0 || ratio > 10) {
            throw new IllegalArgumentException("retry budget ratio must be between 0 and 10");
        }
        if (reservePerSecond < 0) {
            throw new IllegalArgumentException("retry budget reserve must not be negative");
        }
        if (window.toMillis() < 1000) {
            throw new IllegalArgumentException("retry budget window must be at least 1 s");
        }
        this.ratio = ratio;
        this.reserve = (long) reservePerSecond * window.toMillis() / 1000;
        this.bucketMillis = window.toMillis() / BUCKETS;
        this.clockMillis = clockMillis;
    }

    public static RetryBudget of(FailoverSettings.Budget settings, LongSupplier clockMillis) {
        return new RetryBudget(settings.ratio(), settings.reservePerSecond(), settings.window(), clockMillis);
    }

    /** Counts a client request (its first attempt is free). */
    public synchronized void recordRequest() {
        requests[bucket()]++;
    }

    /** Takes one retry from the budget; false when the budget is spent (the caller must not retry). */
    public synchronized boolean tryAcquireRetry() {
        int current = bucket();
        if (sum(retries) >= allowed(sum(requests))) {
            exhaustedTotal++;
            return false;
        }
        retries[current]++;
        retriesTotal++;
        return true;
    }

    /**
     * For one decision: asks this budget for a retry the first time the decision needs one and gives
     * the same answer after that, so a decision that looks at several rungs spends at most one retry.
     */
    public java.util.function.BooleanSupplier askOnce() {
        boolean[] asked = new boolean[1];
        boolean[] granted = new boolean[1];
        return () -> {
            if (!asked[0]) {
                asked[0] = true;
                granted[0] = tryAcquireRetry();
            }
            return granted[0];
        };
    }

    /** Counts a request moved off an upstream that is out of rotation: never refused. */
    public synchronized void recordRedirect() {
        redirects[bucket()]++;
        redirectsTotal++;
    }

    public synchronized Snapshot snapshot() {
        bucket();
        long reqs = sum(requests);
        return new Snapshot(reqs, sum(retries), sum(redirects), allowed(reqs), retriesTotal, redirectsTotal, exhaustedTotal);
    }

    /**
     * In the window: requests, retries and redirects, and the retries allowed; since start: retries,
     * redirects, and how often the budget said no.
     */
    public record Snapshot(long requests, long retries, long redirects, long allowed, long retriesTotal,
                           long redirectsTotal, long exhaustedTotal) {
    }

    private long allowed(long reqs) {
        return reserve + (long) Math.floor(reqs * ratio);
    }

    private static long sum(long[] counts) {
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        return total;
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
            redirects[index] = 0;
        }
        for (int i = 0; i < BUCKETS; i++) {
            if (now - bucketStart[i] >= bucketMillis * BUCKETS) {
                requests[i] = 0;
                retries[i] = 0;
                redirects[i] = 0;
            }
        }
        return index;
    }
}
