package io.understudy.core.failover;

import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * How long to wait for a stream's first token from one upstream for one model, from what that
 * (upstream, model) normally does. Pure: the samples and the signals come in, a decision goes out.
 *
 * <p>The rule. Once {@code minSamples} first tokens have been seen, the wait is {@code multiple}
 * times their p99, at least {@code floor}, at most the configured first-token timeout (the ceiling,
 * which alone applies before then). A model whose first token normally takes 300 ms is not waited
 * on for 30 s; a reasoning model whose first token normally takes 20 s is never cut short of 80 s.
 *
 * <p>When that wait passes with nothing, the attempt is cut only if nothing says the model is merely
 * busy: another request got a first token from the same (upstream, model) during the wait, or this
 * host's own threads lost half the wait or more (see {@link HostStall}). Then a burst that slows
 * every answer down is waited out (up to the ceiling) rather than cut and sent again, which would
 * double its load and its bill.
 *
 * <p>While probes hold the upstream suspect (a probe failed; not yet down) the floor does not apply:
 * the wait is the multiple of the p99 alone (at least {@link #SUSPECT_MINIMUM}). The floor is the
 * benefit of the doubt for an upstream nothing speaks against; a failed probe speaks against it, and
 * the busy test above still protects one that is only slow. A silent relay then loses its waiting
 * streams about when its first probe fails, not a probe later when it is marked down.
 */
public final class FirstTokenDeadline {
    private FirstTokenDeadline() {
    }

    /** {@code enabled: false} keeps the configured first-token timeout as the only limit. */
    public record Settings(boolean enabled, double multiple, Duration floor, int minSamples) {
        public static final Settings SHIPPED = new Settings(true, 4.0, Duration.ofSeconds(2), 8);

        public Settings {
            if (multiple < 1) {
                throw new IllegalArgumentException("multiple must be at least 1");
            }
            if (floor.toMillis() < 100) {
                throw new IllegalArgumentException("floor must be at least PT0.1S"); // the wait is re-checked every floor
            }
        }
    }

    /** The shortest wait on a suspect upstream, however fast its first tokens normally come. */
    public static final long SUSPECT_MINIMUM = 100;

    /** A wait, in ms: the adaptive limit (without the floor while {@code suspect}), or the ceiling. */
    public static long waitMillis(Settings s, long ceilingMillis, OptionalLong p99Millis, boolean suspect) {
        if (!s.enabled() || p99Millis.isEmpty()) {
            return ceilingMillis;
        }
        long multiple = (long) Math.ceil(s.multiple() * p99Millis.getAsLong());
        long adaptive = suspect ? Math.max(SUSPECT_MINIMUM, multiple) : Math.max(s.floor().toMillis(), multiple);
        return Math.min(ceilingMillis, adaptive);
    }

    /** What to do when a wait passed with no first token. */
    public sealed interface Verdict {
        String reason();
    }

    public record KeepWaiting(String reason) implements Verdict {
    }

    public record Cut(String reason) implements Verdict {
    }

    /**
     * @param waitedMillis   how long this attempt has waited
     * @param ceilingMillis  the configured first-token timeout (or what is left of the request's deadline)
     * @param p99Millis      the (upstream, model)'s first-token p99 the wait was drawn from, if any
     * @param peerProgressed another request got a first token from this (upstream, model) during the last wait
     * @param hostStall      how much of the last wait this host's own threads lost
     */
    public static Verdict onSilence(long waitedMillis, long ceilingMillis, OptionalLong p99Millis, boolean peerProgressed,
                             HostStall hostStall) {
        if (waitedMillis >= ceilingMillis) {
            return new Cut("no first token within the configured " + ceilingMillis + " ms");
        }
        String normal = p99Millis.isPresent() ? " (its first-token p99 is " + p99Millis.getAsLong() + " ms)" : "";
        if (peerProgressed) {
            return new KeepWaiting("other requests for this model got their first token meanwhile: busy, not hung" + normal);
        }
        if (hostStall.explainsSilence()) {
            return new KeepWaiting(hostStall + " of the wait: no verdict" + normal);
        }
        return new Cut("no first token within " + waitedMillis + " ms" + normal + ", and none for any other request meanwhile");
    }

    /**
     * The last {@link #CAPACITY} first-token times of one (upstream, model), and when the last one
     * arrived. Thread-safe; cheap enough to read at every attempt.
     */
    public static final class Samples {
        static final int CAPACITY = 128;
        private final long[] millis = new long[CAPACITY];
        private int count;
        private int next;
        private volatile long lastNanos = Long.MIN_VALUE;

        public synchronized void record(long firstTokenMillis, long atNanos) {
            millis[next] = Math.max(0, firstTokenMillis);
            next = (next + 1) % CAPACITY;
            count = Math.min(CAPACITY, count + 1);
            lastNanos = atNanos;
        }

        /** The p99 of the samples held; empty with fewer than {@code minSamples}. */
        public synchronized OptionalLong p99(int minSamples) {
            if (count < Math.max(1, minSamples)) {
                return OptionalLong.empty();
            }
            long[] sorted = Arrays.copyOf(millis, count);
            Arrays.sort(sorted);
            int index = (int) Math.ceil(0.99 * count) - 1;
            return OptionalLong.of(sorted[Math.max(0, index)]);
        }

        /** True when a first token arrived after {@code sinceNanos} (System.nanoTime). */
        public boolean arrivedSince(long sinceNanos) {
            long last = lastNanos;
            return last != Long.MIN_VALUE && last - sinceNanos > 0;
        }
    }
}
