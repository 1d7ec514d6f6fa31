package io.understudy.core.routing;

import java.util.ArrayList;
import java.util.List;

/**
 * The choice among peers: upstreams the failover ladder ranks equal (same tier, same priority, same
 * health), by weighted random draw. Pure: the caller supplies the draw.
 *
 * <p>A peer's share is its configured weight times three live factors, normalised over the peers:
 * <ul>
 *   <li><b>speed</b>: {@code ((fastest + 10 ms) / (its latency + 10 ms))^freshness}, on the latency
 *       that matters to the request (first token for a stream, the whole answer otherwise). A stale
 *       measurement counts for less ({@link LiveStats}); a peer not measured yet counts as the
 *       fastest, so it gets its weight and is measured. The 10 ms keep sub-millisecond noise from
 *       deciding anything;</li>
 *   <li><b>errors</b>: {@code (1 - error rate)^2}, at least {@link #MIN_ERROR_FACTOR};</li>
 *   <li><b>SLO</b>: its {@link SloState#share()}, applied only while some peer meets its objective
 *       (when every peer breaches, moving traffic among them helps no one).</li>
 * </ul>
 * A slow or failing peer so gets less traffic before probes or circuits give it none, and keeps
 * enough to be measured again.
 */
public final class Balancer {
    static final double MIN_ERROR_FACTOR = 0.05;
    private static final double DAMPING_MILLIS = 10;

    private Balancer() {
    }

    /** What is known live of one peer: its measurements and, when an SLO applies, its state against it. */
    public record Live(LiveStats.Signals signals, java.util.Optional<SloState> slo) {
        public static final Live NONE = new Live(LiveStats.Signals.NONE, java.util.Optional.empty());
    }

    public record Peer(String name, int weight, Live live) {
    }

    /** The peer drawn, and why the shares are what they are. */
    public record Pick(int index, double[] shares, String reason) {
    }

    /** Each peer's share of traffic, summing to 1. */
    public static double[] shares(List<Peer> peers, boolean stream) {
        double fastest = Double.NaN;
        boolean someMeet = false;
        for (Peer p : peers) {
            double l = p.live().signals().latencyFor(stream);
            if (!Double.isNaN(l) && (Double.isNaN(fastest) || l < fastest)) {
                fastest = l;
            }
            someMeet |= p.live().slo().map(s -> !s.breaching()).orElse(true);
        }
        double[] shares = new double[peers.size()];
        double sum = 0;
        for (int i = 0; i < peers.size(); i++) {
            Peer p = peers.get(i);
            double l = p.live().signals().latencyFor(stream);
            double speed = Double.isNaN(l) || Double.isNaN(fastest) ? 1
                    : Math.pow((fastest + DAMPING_MILLIS) / (l + DAMPING_MILLIS), p.live().signals().freshnessFor(stream));
            double errors = Math.max(MIN_ERROR_FACTOR, Math.pow(1 - p.live().signals().errorRate(), 2));
            double slo = someMeet ? p.live().slo().map(SloState::share).orElse(1.0) : 1;
            shares[i] = Math.max(1, p.weight()) * speed * errors * slo;
            sum += shares[i];
        }
        for (int i = 0; i < shares.length; i++) {
            shares[i] = sum > 0 ? shares[i] / sum : 1.0 / shares.length;
        }
        return shares;
    }

    /** Draws one peer by its share; {@code random} in [0, 1). */
    public static Pick pick(List<Peer> peers, boolean stream, double random) {
        double[] shares = shares(peers, stream);
        int chosen = shares.length - 1;
        double cumulative = 0;
        for (int i = 0; i < shares.length; i++) {
            cumulative += shares[i];
            if (random < cumulative) {
                chosen = i;
                break;
            }
        }
        return new Pick(chosen, shares, describe("weighted pick among", peers, shares, stream));
    }

    /** The shares of {@code peers} and why, as a pick would state them (for /status). */
    public static String explain(List<Peer> peers, boolean stream) {
        return describe("shares:", peers, shares(peers, stream), stream);
    }

    /** "weighted pick among a 72%, b 28% (first token 850 ms; breaching its SLO)". */
    private static String describe(String opening, List<Peer> peers, double[] shares, boolean stream) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < peers.size(); i++) {
            Peer p = peers.get(i);
            List<String> why = new ArrayList<>();
            double l = p.live().signals().latencyFor(stream);
            if (!Double.isNaN(l)) {
                why.add((stream ? "first token " : "answers in ") + Math.round(l) + " ms");
            }
            double errors = p.live().signals().errorRate();
            if (errors >= 0.01) {
                why.add("errors " + Math.round(errors * 100) + "%");
            }
            p.live().slo().filter(SloState::breaching).ifPresent(s -> why.add("breaching its SLO"));
            if (p.weight() != 1) {
                why.add("weight " + p.weight());
            }
            parts.add(p.name() + " " + SloState.percent(shares[i]) + (why.isEmpty() ? "" : " (" + String.join(", ", why) + ")"));
        }
        return opening + " " + String.join(", ", parts);
    }
}
