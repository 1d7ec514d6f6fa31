package io.understudy.core.config;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.understudy.core.routing.Route;
import io.understudy.core.routing.Slo;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code routes:} as written: priorities, weights and latency objectives, and the errors for bad ones. */
class RoutesConfigTest {
    private static final String PROVIDERS = """
            providers:
              - { name: east, kind: openai, base-url: "http://127.0.0.1:1/v1" }
              - { name: west, kind: openai, base-url: "http://127.0.0.1:2/v1" }
              - { name: backup, kind: openai, base-url: "http://127.0.0.1:3/v1" }
            """;

    private static List<Route> routes(String yaml) {
        Config root = Config.just(ConfigSources.create(PROVIDERS + yaml, MediaTypes.APPLICATION_X_YAML));
        return ProviderConfigs.routes(root, ProviderConfigs.providers(root, Map.<String, String>of()::get));
    }

    @Test
    void anUnannotatedRouteIsAnOrderedFallbackList() {
        Route r = routes("""
                routes:
                  - model: "*"
                    targets: [ { provider: east }, { provider: west }, { provider: backup } ]
                """).get(0);
        assertEquals(List.of(0, 1, 2), r.targets().stream().map(Route.Target::priority).toList());
        assertEquals(List.of(1, 1, 1), r.targets().stream().map(Route.Target::weight).toList());
        assertEquals(Optional.empty(), r.slo());
    }

    @Test
    void targetsOfOnePriorityArePeersWithWeightsAndTheRouteMayDeclareAnSlo() {
        Route r = routes("""
                routes:
                  - model: "gpt-4o*"
                    slo: { p99-first-token: PT1.5S, window: PT30S, min-samples: 10, shift: 0.1, shift-every: PT2S }
                    targets:
                      - { provider: east, priority: 0, weight: 3 }
                      - { provider: west, priority: 0 }
                      - { provider: backup, priority: 1 }
                """).get(0);
        assertEquals(List.of(0, 0, 1), r.targets().stream().map(Route.Target::priority).toList());
        assertEquals(List.of(3, 1, 1), r.targets().stream().map(Route.Target::weight).toList());
        assertEquals(Optional.of(new Slo("gpt-4o*", Duration.ofMillis(1500), Duration.ofSeconds(30), 10, 0.1, Duration.ofSeconds(2))),
                r.slo());
    }

    @Test
    void anSloTakesItsDefaultsButNeedsItsObjective() {
        Slo slo = routes("""
                routes:
                  - model: "m"
                    slo: { p99-first-token: PT2S }
                    targets: [ { provider: east } ]
                """).get(0).slo().orElseThrow();
        assertEquals(new Slo("m", Duration.ofSeconds(2), Duration.ofMinutes(1), 20, 0.2, Duration.ofSeconds(5)), slo);
        ConfigError missing = assertThrows(ConfigError.class, () -> routes("""
                routes:
                  - model: "m"
                    slo: { window: PT1M }
                    targets: [ { provider: east } ]
                """));
        assertTrue(missing.getMessage().startsWith("routes.0.slo.p99-first-token: an slo needs a positive p99-first-token"),
                missing.getMessage());
        ConfigError badShift = assertThrows(ConfigError.class, () -> routes("""
                routes:
                  - model: "m"
                    slo: { p99-first-token: PT2S, shift: 1.5 }
                    targets: [ { provider: east } ]
                """));
        assertEquals("routes.0.slo.shift: shift must be in (0, 1]", badShift.getMessage());
        ConfigError badWeight = assertThrows(ConfigError.class, () -> routes("""
                routes:
                  - model: "m"
                    targets: [ { provider: east, weight: 0 } ]
                """));
        assertTrue(badWeight.getMessage().startsWith("routes.0.targets.0.weight"), badWeight.getMessage());
    }
}
