package io.understudy.core.routing;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BalancerTest {
    private static final Slo SLO = new Slo("m", Duration.ofSeconds(1), Duration.ofMinutes(1), 5, 0.2, Duration.ofSeconds(5));

    private static Balancer.Peer peer(String name, int weight, double firstTokenMillis, double errorRate) {
        return new Balancer.Peer(name, weight, new Balancer.Live(
                new LiveStats.Signals(firstTokenMillis, 1, Double.NaN, 1, errorRate, 10), Optional.empty()));
    }

    private static Balancer.Peer withSlo(Balancer.Peer p, SloState state) {
        return new Balancer.Peer(p.name(), p.weight(), new Balancer.Live(p.live().signals(), Optional.of(state)));
    }

    private static SloState breachingFor(int steps) {
        SloState s = SloState.initial();
        for (int i = 0; i < steps; i++) {
            s = s.next(SLO, OptionalLong.of(3000), 50, i * 5_000L);
        }
        return s;
    }

    @Test
    void equalPeersShareByConfiguredWeight() {
        double[] shares = Balancer.shares(List.of(peer("a", 3, 300, 0), peer("b", 1, 300, 0)), true);
        assertEquals(0.75, shares[0], 1e-9);
        assertEquals(0.25, shares[1], 1e-9);
    }

    @Test
    void aSlowerPeerGetsLessTrafficButStillSome() {
        double[] shares = Balancer.shares(List.of(peer("fast", 1, 290, 0), peer("slow", 1, 590, 0)), true);
        // (290 + 10) / (590 + 10) = 0.5: the slow one gets a third
        assertEquals(2.0 / 3, shares[0], 1e-9);
        assertEquals(1.0 / 3, shares[1], 1e-9);
    }

    @Test
    void aStaleMeasurementCountsForLessThanAFreshOne() {
        Balancer.Peer fast = peer("fast", 1, 290, 0);
        Balancer.Peer staleSlow = new Balancer.Peer("slow", 1, new Balancer.Live(
                new LiveStats.Signals(590, 0.5, Double.NaN, 1, 0, 10), Optional.empty()));
        double fresh = Balancer.shares(List.of(fast, peer("slow", 1, 590, 0)), true)[1];
        double stale = Balancer.shares(List.of(fast, staleSlow), true)[1];
        assertTrue(stale > fresh, "a half-forgotten slowness costs less share: " + stale + " vs " + fresh);
        assertTrue(stale < 0.5, "but still some: " + stale);
    }

    @Test
    void aPeerNotYetMeasuredCountsAsTheFastestSoItIsTried() {
        Balancer.Peer unknown = new Balancer.Peer("new", 1, Balancer.Live.NONE);
        double[] shares = Balancer.shares(List.of(peer("a", 1, 500, 0), unknown), true);
        assertEquals(0.5, shares[1], 1e-9);
    }

    @Test
    void streamsAreComparedOnFirstTokenAndWholeAnswersOnTotalTime() {
        Balancer.Peer a = new Balancer.Peer("a", 1, new Balancer.Live(new LiveStats.Signals(100, 1, 2000, 1, 0, 10), Optional.empty()));
        Balancer.Peer b = new Balancer.Peer("b", 1, new Balancer.Live(new LiveStats.Signals(400, 1, 500, 1, 0, 10), Optional.empty()));
        assertTrue(Balancer.shares(List.of(a, b), true)[0] > 0.7);
        assertTrue(Balancer.shares(List.of(a, b), false)[0] < 0.3);
    }

    @Test
    void errorsCutAShareButNeverToNothing() {
        double[] shares = Balancer.shares(List.of(peer("ok", 1, 300, 0), peer("failing", 1, 300, 1.0)), true);
        assertEquals(Balancer.MIN_ERROR_FACTOR / (1 + Balancer.MIN_ERROR_FACTOR), shares[1], 1e-9);
        double half = Balancer.shares(List.of(peer("ok", 1, 300, 0), peer("flaky", 1, 300, 0.5)), true)[1];
        assertEquals(0.25 / 1.25, half, 1e-9);
    }

    @Test
    void aBreachingPeerLosesShareWhileAnotherMeetsTheSlo() {
        SloState breaching = breachingFor(3);
        SloState meeting = SloState.initial().next(SLO, OptionalLong.of(200), 50, 0);
        double[] shares = Balancer.shares(List.of(withSlo(peer("a", 1, 300, 0), meeting), withSlo(peer("b", 1, 300, 0), breaching)), true);
        assertEquals(breaching.share() / (1 + breaching.share()), shares[1], 1e-9);
    }

    @Test
    void whenEveryPeerBreachesTheSloNoTrafficMoves() {
        double[] shares = Balancer.shares(List.of(withSlo(peer("a", 1, 300, 0), breachingFor(1)),
                withSlo(peer("b", 1, 300, 0), breachingFor(4))), true);
        assertEquals(0.5, shares[0], 1e-9);
    }

    @Test
    void theDrawFollowsTheSharesAndSaysWhy() {
        List<Balancer.Peer> peers = List.of(peer("fast", 1, 290, 0), peer("slow", 1, 590, 0));
        assertEquals(0, Balancer.pick(peers, true, 0.0).index());
        assertEquals(0, Balancer.pick(peers, true, 0.66).index());
        assertEquals(1, Balancer.pick(peers, true, 0.67).index());
        assertEquals(1, Balancer.pick(peers, true, 0.999).index());
        assertEquals("weighted pick among fast 67% (first token 290 ms), slow 33% (first token 590 ms)",
                Balancer.pick(peers, true, 0.5).reason());
    }
}
