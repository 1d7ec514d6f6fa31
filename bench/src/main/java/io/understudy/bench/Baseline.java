package io.understudy.bench;

import io.understudy.core.Version;
import io.understudy.testkit.JavaProcess;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** provider-sim called directly: what every other row is compared with. */
record Baseline() implements Contender {
    @Override
    public String name() {
        return "baseline (provider-sim direct)";
    }

    @Override
    public Optional<String> unavailable() {
        return Optional.empty();
    }

    @Override
    public String version() {
        return "provider-sim " + Version.current();
    }

    @Override
    public boolean failsOver() {
        return false;
    }

    @Override
    public Deployment deploy(Stage stage) {
        JavaProcess sim = stage.sim("sim");
        return new Deployment("http://127.0.0.1:" + sim.port(), Map.of(), Optional.empty(), List.of(sim.handle()), Map.of());
    }
}
