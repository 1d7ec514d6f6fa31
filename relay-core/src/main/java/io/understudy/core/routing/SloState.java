package io.understudy.core.routing;

import java.util.OptionalLong;

/**
 * Where one upstream stands against one {@link Slo}, and the pure rule that moves it. Its
 * {@code share} multiplies the upstream's weight among its peers ({@link Balancer}).
 *
 * <p>The rule, applied at most once per {@link Slo#shiftEvery()}:
 * <ul>
 *   <li>p99 over the window above the objective: breaching; the share drops by {@link Slo#shift()},
 *       never below {@link #FLOOR} (an upstream that gets no traffic is never measured again);</li>
 *   <li>p99 at or below {@link #RECOVER_BELOW} of the objective: meeting; the share rises by the same
 *       step, up to 1;</li>
 *   <li>between the two (hysteresis): the verdict and the share hold, so an upstream hovering at the
 *       line does not make traffic swing back and forth;</li>
 *   <li>fewer first tokens in the window than {@link Slo#minSamples()}: no evidence of a breach, so the
 *       share creeps back up, which also brings the traffic that will measure it again.</li>
 * </ul>
 * A share moves by at most one step per interval: one slow minute moves part of the traffic, not all of it.
 */
public record SloState(double share, Verdict verdict, OptionalLong p99Millis, int samples, long steppedAtMillis,
                       long shiftsAway, long shiftsBack, String reason) {
    /** The least share a breaching upstream keeps. */
    public static final double FLOOR = 0.1;
    /** Meeting again means a p99 this far under the objective. */
    public static final double RECOVER_BELOW = 0.8;

    public enum Verdict { UNKNOWN, MEETS, BREACHES }

    public static SloState initial() {
        return new SloState(1, Verdict.UNKNOWN, OptionalLong.empty(), 0, Long.MIN_VALUE, 0, 0, "not yet measured");
    }

    /** The state after a look at the window: {@code p99} of its {@code samples} first tokens (empty: too few). */
    public SloState next(Slo slo, OptionalLong p99, int samples, long nowMillis) {
        if (steppedAtMillis != Long.MIN_VALUE && nowMillis - steppedAtMillis < slo.shiftEvery().toMillis()) {
            return this;
        }
        long target = slo.p99FirstToken().toMillis();
        if (p99.isEmpty()) {
            double up = Math.min(1, share + slo.shift());
            return new SloState(up, Verdict.UNKNOWN, p99, samples, nowMillis, shiftsAway, shiftsBack + (up > share ? 1 : 0),
                    samples + " first tokens in the window, fewer than " + slo.minSamples() + ": no evidence of a breach"
                            + (up > share ? "; share back up to " + percent(up) : ""));
        }
        long observed = p99.getAsLong();
        if (observed > target) {
            double down = Math.max(FLOOR, share - slo.shift());
            return new SloState(down, Verdict.BREACHES, p99, samples, nowMillis, shiftsAway + (down < share ? 1 : 0), shiftsBack,
                    "p99 first token " + observed + " ms > " + target + " ms: breaching; share "
                            + (down < share ? "cut to " : "held at ") + percent(down));
        }
        if (observed <= target * RECOVER_BELOW) {
            double up = Math.min(1, share + slo.shift());
            return new SloState(up, Verdict.MEETS, p99, samples, nowMillis, shiftsAway, shiftsBack + (up > share ? 1 : 0),
                    "p99 first token " + observed + " ms <= " + Math.round(target * RECOVER_BELOW) + " ms: meeting; share "
                            + (up > share ? "back up to " : "at ") + percent(up));
        }
        return new SloState(share, verdict, p99, samples, nowMillis, shiftsAway, shiftsBack,
                "p99 first token " + observed + " ms is within " + target + " ms but above " + Math.round(target * RECOVER_BELOW)
                        + " ms: holding " + verdict.name().toLowerCase(java.util.Locale.ROOT) + " at share " + percent(share));
    }

    public boolean breaching() {
        return verdict == Verdict.BREACHES;
    }

    static String percent(double share) {
        return Math.round(share * 100) + "%";
    }
}
