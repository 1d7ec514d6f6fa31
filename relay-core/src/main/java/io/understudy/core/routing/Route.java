package io.understudy.core.routing;

import io.understudy.core.Glob;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The targets for the models that match {@code model}, and the latency objective they are held to,
 * if any. Targets are tried by {@link Target#priority()} (lowest first); targets of one priority are
 * peers, shared by weight and live conditions ({@link Balancer}).
 */
public record Route(Glob model, List<Route.Target> targets, Optional<Slo> slo) {
    public Route {
        Objects.requireNonNull(model, "model");
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a route needs at least one target");
        }
    }

    public Route(Glob model, List<Route.Target> targets) {
        this(model, targets, Optional.empty());
    }

    /**
     * A provider and, optionally, the model name to ask it for (default: the requested one).
     * {@code priority}: by default the target's position, so an unannotated route is an ordered
     * fallback list; {@code weight}: its share among targets of the same priority.
     */
    public record Target(String provider, Optional<String> model, int priority, int weight) {
        public Target(String provider, Optional<String> model) {
            this(provider, model, 0, 1);
        }

        public String modelFor(String requested) {
            return model.orElse(requested);
        }
    }
}
