package io.understudy.core.routing;

import io.understudy.core.provider.Provider;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Model name -> the ordered provider attempts for it. The first route whose pattern matches wins. */
public final class Router {
    /**
     * One planned attempt: which provider, asked for which model; its route target's priority and
     * weight; and the route's latency objective, if any.
     */
    public record Attempt(Provider provider, String model, int priority, int weight, Optional<Slo> slo) {
        public Attempt(Provider provider, String model) {
            this(provider, model, 0, 1, Optional.empty());
        }

        /** The same attempt through another provider adapter (extra headers). */
        public Attempt via(Provider other) {
            return new Attempt(other, model, priority, weight, slo);
        }
    }

    /**
     * The attempts, or (when empty) why there are none, in words for the caller; {@code requirementUnmet}
     * when the route has usable providers but none meets the request's {@link Requirement}.
     */
    public record Result(List<Attempt> attempts, Optional<String> noRoute, boolean requirementUnmet) {
        public Result(List<Attempt> attempts, Optional<String> noRoute) {
            this(attempts, noRoute, false);
        }
    }

    private final List<Route> routes;
    private final Map<String, Provider> enabled;
    private final Map<String, String> disabledReasons;

    public Router(List<Route> routes, Map<String, Provider> enabled, Map<String, String> disabledReasons) {
        this.routes = List.copyOf(routes);
        // in config order: "the first OpenAI-compatible provider" must mean the first one configured
        this.enabled = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(enabled));
        this.disabledReasons = Map.copyOf(disabledReasons);
    }

    public Result plan(String model) {
        return plan(model, Requirement.NONE);
    }

    /**
     * The route's attempts whose provider meets {@code requirement}, in route order. A provider
     * that does not is never planned, so no fallback can reach it.
     */
    public Result plan(String model, Requirement requirement) {
        for (Route route : routes) {
            if (!route.model().matches(model)) {
                continue;
            }
            List<Attempt> attempts = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (Route.Target target : route.targets()) {
                Provider provider = enabled.get(target.provider());
                if (provider == null) {
                    skipped.add(target.provider() + " (" + disabledReasons.getOrDefault(target.provider(), "disabled") + ")");
                } else {
                    attempts.add(new Attempt(provider, target.modelFor(model), target.priority(), target.weight(), route.slo()));
                }
            }
            if (attempts.isEmpty()) {
                return new Result(List.of(), Optional.of("model '" + model + "' has no usable provider: "
                        + String.join(", ", skipped)));
            }
            if (requirement.isNone()) {
                return new Result(attempts, Optional.empty());
            }
            List<Attempt> compliant = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            for (Attempt a : attempts) {
                Optional<String> unmet = requirement.unmet(a.provider().config().tags());
                if (unmet.isEmpty()) {
                    compliant.add(a);
                } else {
                    refused.add(a.provider().config().name() + " (" + unmet.get() + ")");
                }
            }
            if (compliant.isEmpty()) {
                return new Result(List.of(), Optional.of(unmetMessage(requirement, model, refused)), true);
            }
            return new Result(compliant, Optional.empty());
        }
        return new Result(List.of(), Optional.of("The model '" + model + "' does not exist here"));
    }

    /** The error a request gets when no provider meets its requirement: it names the requirement and each provider's gap. */
    public static String unmetMessage(Requirement requirement, String model, List<String> refused) {
        return "No provider for model '" + model + "' meets the requirement " + requirement + " ("
                + Requirement.HEADER.defaultCase() + "): " + String.join("; ", refused)
                + ". Nothing was sent to any provider.";
    }

    /** The routes in order (the first whose pattern matches wins). */
    public List<Route> routes() {
        return routes;
    }

    public boolean anyProviderEnabled() {
        return !enabled.isEmpty();
    }

    /** The enabled providers, in config order. */
    public Map<String, Provider> providers() {
        return enabled;
    }

    /** Builds adapters for the enabled providers of a config section. */
    public static Router create(List<Route> routes, Map<String, io.understudy.core.config.ProviderConfigs.Entry> entries,
                                java.util.function.Function<io.understudy.core.provider.ProviderConfig, Provider> factory) {
        Map<String, Provider> enabled = new java.util.LinkedHashMap<>();
        Map<String, String> disabled = new java.util.LinkedHashMap<>();
        for (var entry : entries.values()) {
            if (entry.enabled()) {
                enabled.put(entry.config().name(), factory.apply(entry.config()));
            } else {
                disabled.put(entry.config().name(), entry.disabledBecause().orElseThrow());
            }
        }
        return new Router(routes, enabled, disabled);
    }

    public static Map<String, String> disabledReasons(Map<String, io.understudy.core.config.ProviderConfigs.Entry> entries) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        entries.values().forEach(e -> e.disabledBecause().ifPresent(why -> out.put(e.config().name(), why)));
        return out;
    }
}
