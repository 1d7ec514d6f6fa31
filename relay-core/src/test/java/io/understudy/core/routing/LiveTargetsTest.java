package io.understudy.core.routing;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveTargetsTest {
    private static final Slo SLO = new Slo("m*", Duration.ofMillis(500), Duration.ofSeconds(10), 5, 0.5, Duration.ofSeconds(1));

    @Test
    void anSloIsJudgedOnTheFirstTokensOfItsWindowOnly() {
        List<String> events = new ArrayList<>();
        LiveTargets live = new LiveTargets(new LiveTargets.Listener() {
            @Override
            public void tracking(String upstream, String slo, Supplier<SloState> state) {
                events.add("tracking " + upstream + " " + slo);
            }

            @Override
            public void shifted(String upstream, Slo slo, SloState after, boolean away) {
                events.add((away ? "away " : "back ") + upstream + " " + after.share());
            }
        });
        for (int i = 0; i < 10; i++) {
            live.firstToken("east", "m1", Optional.of(SLO), 2_000, 1_000 + i);
        }
        Balancer.Live slow = live.live("east", "m1", Optional.of(SLO), 2_000);
        assertTrue(slow.slo().orElseThrow().breaching());
        assertEquals(0.5, slow.slo().orElseThrow().share(), 1e-9);
        // 10 s on, the slow first tokens left the window; 5 fast ones came in
        for (int i = 0; i < 5; i++) {
            live.firstToken("east", "m2", Optional.of(SLO), 100, 11_500 + i);
        }
        Balancer.Live fast = live.live("east", "m2", Optional.of(SLO), 12_000);
        assertEquals(SloState.Verdict.MEETS, fast.slo().orElseThrow().verdict());
        assertEquals(1.0, fast.slo().orElseThrow().share(), 1e-9);
        assertEquals(List.of("tracking east m*", "away east 0.5", "back east 1.0"), events,
                "one SLO per (upstream, rule): models m1 and m2 share it");
        assertEquals(2, live.signals("east", 12_000).size(), "but each model has its own measurements");
    }

    @Test
    void modelNamesFromClientsAreBoundedPerUpstream() {
        LiveTargets live = new LiveTargets(LiveTargets.Listener.NONE);
        for (int i = 0; i < LiveTargets.MAX_MODELS + 50; i++) {
            live.completed("east", "model-" + i, 100, 0);
        }
        assertEquals(LiveTargets.MAX_MODELS, live.signals("east", 0).size());
    }
}
