package io.understudy.agent;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Upstreams an operator took out of rotation for a while (a failover drill, maintenance): new
 * attempts do not go to them until the time is up or the operator lifts it; requests already on them
 * finish there. Each ends by itself, so a drill that dies midway cannot leave an upstream avoided.
 */
final class Avoidances {
    record Avoidance(String upstream, long untilMillis, String reason) {
    }

    private final Map<String, Avoidance> byUpstream = new ConcurrentHashMap<>();

    void avoid(Collection<String> upstreams, long untilMillis, String reason) {
        upstreams.forEach(u -> byUpstream.put(u, new Avoidance(u, untilMillis, reason)));
    }

    /** Lifts every avoidance; returns the upstreams that were avoided. */
    List<String> clear(long nowMillis) {
        List<String> lifted = active(nowMillis).stream().map(Avoidance::upstream).toList();
        byUpstream.clear();
        return lifted;
    }

    boolean avoided(String upstream, long nowMillis) {
        Avoidance a = byUpstream.get(upstream);
        return a != null && a.untilMillis() > nowMillis;
    }

    /** The avoidances still running, soonest to end first; ended ones are forgotten. */
    List<Avoidance> active(long nowMillis) {
        byUpstream.values().removeIf(a -> a.untilMillis() <= nowMillis);
        List<Avoidance> out = new ArrayList<>(byUpstream.values());
        out.sort(Comparator.comparingLong(Avoidance::untilMillis).thenComparing(Avoidance::upstream));
        return out;
    }
}
