package io.understudy.core.failover;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Retry-After bound to the provider and model that sent it, whichever path reaches them: the direct
 * tier, the relay that passed it on, or another relay. A relay's route to a provider is learned from
 * its answers ({@code x-understudy-provider}, {@code x-understudy-model}) and from the errors it
 * passes on. A relay whose route for a model is not known yet is taken to route it like the relays
 * already seen: relays of one appliance are replicas of one configuration, and a cold standby
 * calling a provider 0.1 s after it said "wait" is exactly what a Retry-After forbids.
 * Bounded: expired limits are dropped, and the route table is cleared when full.
 */
public final class ProviderLimits {
    private static final int MAX_ENTRIES = 1024;

    // concurrent maps, no lock: learn() runs on every relay answer and relayUntil() on every decision
    private final Map<String, Long> untilByProviderModel = new ConcurrentHashMap<>();
    /** relay|model asked -> provider|provider model. */
    private final Map<String, String> routeByRelayModel = new ConcurrentHashMap<>();
    /** model asked -> provider|provider model, as last learned from any relay. */
    private final Map<String, String> routeByModel = new ConcurrentHashMap<>();

    public void limit(String provider, String providerModel, long nowMillis, long untilMillis) {
        if (untilByProviderModel.size() >= MAX_ENTRIES) {
            untilByProviderModel.values().removeIf(until -> until <= nowMillis);
            if (untilByProviderModel.size() >= MAX_ENTRIES) {
                untilByProviderModel.clear();
            }
        }
        untilByProviderModel.merge(key(provider, providerModel), untilMillis, Math::max);
    }

    public void learn(String relay, String model, String provider, String providerModel) {
        String route = key(provider, providerModel);
        String relayModel = key(relay, model);
        if (route.equals(routeByRelayModel.get(relayModel))) {
            return; // the usual case: nothing new
        }
        if (routeByRelayModel.size() >= MAX_ENTRIES) {
            routeByRelayModel.clear();
            routeByModel.clear();
        }
        routeByRelayModel.put(relayModel, route);
        routeByModel.put(model, route);
    }

    /** Until when {@code provider} must not be called for {@code providerModel} (epoch millis; 0 for free). */
    public long until(String provider, String providerModel) {
        return untilByProviderModel.getOrDefault(key(provider, providerModel), 0L);
    }

    /** Until when {@code relay} must not be sent {@code model}: the limit on the provider model it routes it to. */
    public long relayUntil(String relay, String model) {
        if (untilByProviderModel.isEmpty()) {
            return 0;
        }
        String route = routeByRelayModel.getOrDefault(key(relay, model), routeByModel.get(model));
        return route == null ? 0 : untilByProviderModel.getOrDefault(route, 0L);
    }

    /** Limits still in force, as provider/model -> ms left. */
    public Map<String, Long> active(long nowMillis) {
        Map<String, Long> out = new HashMap<>();
        untilByProviderModel.forEach((k, until) -> {
            if (until > nowMillis) {
                out.put(k.replace('|', '/'), until - nowMillis);
            }
        });
        return out;
    }

    private static String key(String a, String b) {
        return a + "|" + b;
    }
}
