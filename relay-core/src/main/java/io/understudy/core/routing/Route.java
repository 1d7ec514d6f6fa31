package io.understudy.core.routing;

import io.understudy.core.Glob;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** An ordered list of targets for the models that match {@code model}. */
public record Route(Glob model, List<Route.Target> targets) {
    public Route {
        Objects.requireNonNull(model, "model");
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a route needs at least one target");
        }
    }

    /** A provider and, optionally, the model name to ask it for (default: the requested one). */
    public record Target(String provider, Optional<String> model) {
        public String modelFor(String requested) {
            return model.orElse(requested);
        }
    }
}
