package io.understudy.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
