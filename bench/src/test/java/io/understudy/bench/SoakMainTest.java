package io.understudy.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SoakMainTest {
    @Test
    void theSlopeIsTheGrowthPerHourOfAFittedLine() {
        // 1 MiB a minute: 60 MiB an hour; the same with a step in the middle fits 48
        assertEquals(60.0, SoakMain.slopePerHour(List.of(new double[] {0, 100}, new double[] {60, 101}, new double[] {120, 102},
                new double[] {180, 103})), 1e-9);
        assertEquals(48.0, SoakMain.slopePerHour(List.of(new double[] {0, 100.5}, new double[] {60, 100.5}, new double[] {120, 102.5},
                new double[] {180, 102.5})), 1e-9);
        assertEquals(0.0, SoakMain.slopePerHour(List.of(new double[] {0, 5}, new double[] {10, 5}, new double[] {20, 5})), 1e-9);
        assertEquals(0.0, SoakMain.slopePerHour(List.of(new double[] {0, 5}, new double[] {10, 9})), "too few points to fit");
    }

    @Test
    void aRequestNotAnsweredWholeIsNamedByItsErrorCode() {
        assertEquals(java.util.Optional.of("HTTP 429 rate_limit_exceeded"), SoakMain.whyNotWhole(429,
                "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"code\":\"rate_limit_exceeded\"}}", false, false));
        assertEquals(java.util.Optional.of("stream ended by an error event upstream_timeout"), SoakMain.whyNotWhole(200,
                "data: {\"choices\":[]}\n\nevent: error\ndata: {\"error\":{\"code\":\"upstream_timeout\"}}\n\n", true, false));
        assertEquals(java.util.Optional.of("stream cut without its end"), SoakMain.whyNotWhole(200, "event: message_start\n", true, true));
        assertEquals(java.util.Optional.empty(), SoakMain.whyNotWhole(200, "data: {}\n\ndata: [DONE]\n\n", true, false));
    }

    /** Regression, soak: a primary the soak had started again was judged over its five-minute life, its pools still filling. */
    @Test
    void onlyTheAppliancesProcessesSteadyTenMinutesAreJudged() {
        assertTrue(SoakMain.judged("agent", 16 * 60));
        assertTrue(SoakMain.judged("primary", 10 * 60));
        assertFalse(SoakMain.judged("primary", 5 * 60 + 20), "a restarted primary's five minutes");
        assertFalse(SoakMain.judged("sim", 30 * 60), "provider-sim stands in for the provider");
    }

    /**
     * Regression, soak: the standby's descriptors stepped to 347 at the first 429 storm, fell to 307 as
     * idle connections closed and went back to 345 at the next storm; a line fitted through the dip
     * read +39.9/h. Its peaks did not climb. A leak's do.
     */
    @Test
    void aPoolThatRefillsToTheSamePeakIsNotGrowthButALeakIs() {
        List<double[]> refills = new java.util.ArrayList<>();
        for (int second = 0; second <= 1200; second += 10) {
            refills.add(new double[] {second, second < 240 ? 347 : second < 660 ? 307 : 345});
        }
        assertTrue(SoakMain.slopePerHour(refills) > 20, "the fitted line reads growth");
        assertTrue(SoakMain.peakGrowthPerHour(refills) <= 0, "the peaks do not climb");
        List<double[]> leak = new java.util.ArrayList<>();
        for (int second = 0; second <= 1200; second += 10) {
            leak.add(new double[] {second, 300 + second / 60});
        }
        assertEquals(60.0, SoakMain.slopePerHour(leak), 1.0);
        assertTrue(SoakMain.peakGrowthPerHour(leak) > 50, "a leak's peaks climb: " + SoakMain.peakGrowthPerHour(leak));
    }
}
