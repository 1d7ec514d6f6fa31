package io.understudy.cli;

import io.understudy.cli.DrillLoad.Sample;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DrillReportTest {
    private static final DrillReport.Bounds BOUNDS = new DrillReport.Bounds(0, Duration.ofMillis(500));
    private static final DrillReport.Step BASELINE = new DrillReport.Step("baseline", "Baseline", 0, 1_000, 1_000);
    private static final DrillReport.Step STEP = new DrillReport.Step("avoid-primary", "Agent avoids primary", 1_000, 3_000, 5_000);

    /** 10 requests a second for 5 s: on {@code away} from 1.0 s until {@code backAtMs}, else primary; 20 ms each. */
    private static List<Sample> traffic(String away, long backAtMs) {
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            long start = i * 100L;
            String tier = start >= 1_000 && start < backAtMs ? away : "primary";
            out.add(new Sample(i, start, 20, i % 2 == 1, 200, tier, tier + "-1", ""));
        }
        return out;
    }

    @Test
    void aStepThatMovesAndReturnsWithoutErrorsPasses() {
        DrillReport.Result r = DrillReport.measure(traffic("standby", 3_200), "primary", BASELINE, List.of(STEP), BOUNDS, 100);
        assertTrue(r.verdict().passed(), r.verdict().reasons().toString());
        DrillReport.StepResult s = r.steps().get(0);
        assertEquals(OptionalLong.of(0), s.timeToMoveMs());
        assertEquals(OptionalLong.of(200), s.timeToReturnMs(), "back on primary from 3.2 s, 200 ms after the lift");
        assertEquals(22, s.byTier().get("standby"));
        assertEquals(0, s.addedP99Ms());
    }

    @Test
    void failedRequestsBeyondTheBoundFailTheDrill() {
        List<Sample> samples = new ArrayList<>(traffic("standby", 3_200));
        samples.set(15, new Sample(15, 1_500, 3, false, 502, "", "", "HTTP 502"));
        DrillReport.Result r = DrillReport.measure(samples, "primary", BASELINE, List.of(STEP), BOUNDS, 100);
        assertFalse(r.verdict().passed());
        assertEquals(List.of("1 request(s) failed (at most 0 allowed)"), r.verdict().reasons());
        assertTrue(DrillReport.measure(samples, "primary", BASELINE, List.of(STEP), new DrillReport.Bounds(1, Duration.ofMillis(500)), 100)
                .verdict().passed(), "within a bound of 1");
    }

    @Test
    void trafficThatNeverMovedOrNeverCameBackFailsTheDrill() {
        DrillReport.Result never = DrillReport.measure(traffic("primary", 0), "primary", BASELINE, List.of(STEP), BOUNDS, 100);
        assertEquals(List.of("Agent avoids primary: traffic never left the home tier, so nothing was rehearsed"), never.verdict().reasons());
        DrillReport.Result stuck = DrillReport.measure(traffic("standby", 9_000), "primary", BASELINE, List.of(STEP), BOUNDS, 100);
        assertEquals(List.of("Agent avoids primary: traffic did not come back to the home tier before the step ended"),
                stuck.verdict().reasons());
    }

    @Test
    void latencyAddedBeyondTheBoundFailsTheDrill() {
        List<Sample> samples = new ArrayList<>();
        for (Sample s : traffic("standby", 3_200)) {
            long latency = s.startMs() >= 1_000 && s.startMs() < 1_500 ? 900 : 20;
            samples.add(new Sample(s.seq(), s.startMs(), latency, s.stream(), 200, s.tier(), s.upstream(), ""));
        }
        DrillReport.Result r = DrillReport.measure(samples, "primary", BASELINE, List.of(STEP), BOUNDS, 100);
        assertEquals(List.of("Agent avoids primary: p99 latency rose 880 ms over the baseline (at most 500 ms allowed)"), r.verdict().reasons());
        String html = DrillReport.html(r, samples, "http://127.0.0.1:4000", BOUNDS, List.of());
        assertTrue(html.contains("<svg") && html.contains("FAILED"), "the report says so and draws the traffic");
    }
}
