package io.understudy.core.routing;

/**
 * What one (upstream, model) has done lately: moving averages of its time to first token, of its
 * time to a whole answer, and of its error rate. Thread-safe; times come from the caller's clock.
 *
 * <p>The averages weigh a sample by the time since the one before (as Finagle's peak EWMA does), so
 * a quiet upstream's history fades at the same pace as a busy one's: a sample's weight is
 * {@code 1 - exp(-dt / tau)}, at least {@link #MIN_ALPHA} (a burst of answers at one instant still
 * moves the average) and at most {@link #MAX_ALPHA} (one answer after a long pause is not the whole
 * story).
 *
 * <p>What nothing has refreshed lately counts for less: a reading carries each latency's
 * freshness, {@code exp(-age / tau)}, and an error rate faded by the same factor. An upstream that
 * was slow or failing and so got little traffic is thus tried again as its record ages, and
 * measured anew, instead of being judged forever on its worst minute.
 */
public final class LiveStats {
    /** Time constant of the decay: what happened 5 s ago weighs about a third of what happens now. */
    static final double TAU_MILLIS = 5_000;
    static final double MIN_ALPHA = 0.05;
    static final double MAX_ALPHA = 0.5;

    /**
     * A reading of the averages. {@code firstTokenMillis} and {@code totalMillis} are NaN until a
     * sample of that kind came in; each {@code ...Fresh} is in (0, 1], 1 for a sample just taken.
     * {@code errorRate} starts at 0 (an upstream is trusted until it fails) and fades as it ages.
     */
    public record Signals(double firstTokenMillis, double firstTokenFresh, double totalMillis, double totalFresh,
                          double errorRate, long samples) {
        public static final Signals NONE = new Signals(Double.NaN, 1, Double.NaN, 1, 0, 0);

        /** The latency that matters for a request: time to first token for a stream, else the whole answer's. */
        public double latencyFor(boolean stream) {
            return stream ? firstTokenMillis : totalMillis;
        }

        public double freshnessFor(boolean stream) {
            return stream ? firstTokenFresh : totalFresh;
        }
    }

    private double firstToken = Double.NaN;
    private long firstTokenAt;
    private double total = Double.NaN;
    private long totalAt;
    private double errors;
    private long outcomeAt;
    private long samples;

    /** A stream's first token came {@code millis} after the attempt began. */
    public synchronized void firstToken(long millis, long nowMillis) {
        firstToken = average(firstToken, millis, firstTokenAt, nowMillis);
        firstTokenAt = nowMillis;
    }

    /** An attempt ended well; {@code totalMillis}: how long the whole answer took. */
    public synchronized void completed(long totalMillis, long nowMillis) {
        total = average(total, totalMillis, totalAt, nowMillis);
        totalAt = nowMillis;
        outcome(0, nowMillis);
    }

    /** An attempt failed (the upstream's fault, not the request's). */
    public synchronized void failed(long nowMillis) {
        outcome(1, nowMillis);
    }

    public synchronized Signals signals(long nowMillis) {
        return new Signals(firstToken, fresh(firstTokenAt, nowMillis), total, fresh(totalAt, nowMillis),
                errors * fresh(outcomeAt, nowMillis), samples);
    }

    private static double fresh(long atMillis, long nowMillis) {
        return Math.exp(-Math.max(0, nowMillis - atMillis) / TAU_MILLIS);
    }

    private void outcome(double value, long nowMillis) {
        errors = samples == 0 ? value * MAX_ALPHA : errors + alpha(outcomeAt, nowMillis) * (value - errors);
        outcomeAt = nowMillis;
        samples++;
    }

    private static double average(double current, long sample, long lastMillis, long nowMillis) {
        if (Double.isNaN(current)) {
            return sample;
        }
        return current + alpha(lastMillis, nowMillis) * (sample - current);
    }

    private static double alpha(long lastMillis, long nowMillis) {
        double dt = Math.max(0, nowMillis - lastMillis);
        return Math.min(MAX_ALPHA, Math.max(MIN_ALPHA, 1 - Math.exp(-dt / TAU_MILLIS)));
    }
}
