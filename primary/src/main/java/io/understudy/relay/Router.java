package io.understudy.relay;

import io.understudy.core.provider.Provider;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Model name -> the ordered upstream attempts for it. The first route whose pattern matches wins. */
final class Router {
    /** One planned attempt: which provider, asked for which model. */
    record Attempt(Provider provider, String model) {
    }

    /** Why no attempt could be planned, in words for the caller. */
    record NoRoute(String reason) {
    }

    private final List<RelayConfig.Route> routes;
    private final Map<String, Provider> enabled;
    private final Map<String, String> disabledReasons;

    Router(List<RelayConfig.Route> routes, Map<String, Provider> enabled, Map<String, String> disabledReasons) {
        this.routes = List.copyOf(routes);
        this.enabled = Map.copyOf(enabled);
        this.disabledReasons = Map.copyOf(disabledReasons);
    }

    /** The attempts for a model, or why there are none. */
    Result plan(String model) {
        for (RelayConfig.Route route : routes) {
            if (!route.model().matches(model)) {
                continue;
            }
            List<Attempt> attempts = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (RelayConfig.Target target : route.targets()) {
                Provider provider = enabled.get(target.provider());
                if (provider == null) {
                    skipped.add(target.provider() + " (" + disabledReasons.getOrDefault(target.provider(), "disabled") + ")");
                } else {
                    attempts.add(new Attempt(provider, target.modelFor(model)));
                }
            }
            if (attempts.isEmpty()) {
                return new Result(List.of(), Optional.of(new NoRoute("model '" + model
                        + "' has no usable provider: " + String.join(", ", skipped))));
            }
            return new Result(attempts, Optional.empty());
        }
        return new Result(List.of(), Optional.of(new NoRoute("The model '" + model + "' does not exist on this relay")));
    }

    /** Model names for /v1/models: each literal route pattern that has a usable provider. */
    List<String> listedModels() {
        List<String> out = new ArrayList<>();
        for (RelayConfig.Route route : routes) {
            String pattern = route.model().pattern();
            if (!pattern.contains("*") && route.targets().stream().anyMatch(t -> enabled.containsKey(t.provider()))) {
                out.add(pattern);
            }
        }
        return out;
    }

    boolean anyProviderEnabled() {
        return !enabled.isEmpty();
    }

    record Result(List<Attempt> attempts, Optional<NoRoute> noRoute) {
    }
}
