package io.understudy.core.routing;

import io.understudy.core.provider.Provider;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Model name -> the ordered provider attempts for it. The first route whose pattern matches wins. */
public final class Router {
    /** One planned attempt: which provider, asked for which model. */
    public record Attempt(Provider provider, String model) {
    }

    /** The attempts, or (when empty) why there are none, in words for the caller. */
    public record Result(List<Attempt> attempts, Optional<String> noRoute) {
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
                    attempts.add(new Attempt(provider, target.modelFor(model)));
                }
            }
            if (attempts.isEmpty()) {
                return new Result(List.of(), Optional.of("model '" + model + "' has no usable provider: "
                        + String.join(", ", skipped)));
            }
            return new Result(attempts, Optional.empty());
        }
        return new Result(List.of(), Optional.of("The model '" + model + "' does not exist here"));
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
