package io.understudy.core.routing;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveStatsTest {
    @Test
    void theFirstSampleIsTheAverageAndLaterOnesMoveItByTheirWeight() {
        LiveStats s = new LiveStats();
        assertTrue(Double.isNaN(s.signals(0).firstTokenMillis()));
        s.firstToken(300, 1_000);
        assertEquals(300, s.signals(1_000).firstTokenMillis(), 1e-9);
        s.firstToken(1_300, 1_000); // the same instant: the least weight
        assertEquals(300 + LiveStats.MIN_ALPHA * 1_000, s.signals(1_000).firstTokenMillis(), 1e-9);
        s.firstToken(300, 1_000_000); // after a long pause: the most weight, not all of it
        assertEquals(350 + LiveStats.MAX_ALPHA * (300 - 350), s.signals(1_000_000).firstTokenMillis(), 1e-9);
    }

    @Test
    void aSampleTakenAfterAPauseWeighsByThePause() {
        LiveStats s = new LiveStats();
        s.completed(100, 0);
        s.completed(200, 2_000);
        double alpha = 1 - Math.exp(-2_000 / LiveStats.TAU_MILLIS);
        assertEquals(100 + alpha * 100, s.signals(2_000).totalMillis(), 1e-9);
    }

    @Test
    void freshnessAndTheErrorRateFadeAsTheyAge() {
        LiveStats s = new LiveStats();
        s.failed(0);
        s.failed(0);
        LiveStats.Signals now = s.signals(0);
        assertTrue(now.errorRate() > 0.5, "two failures: " + now.errorRate());
        LiveStats.Signals later = s.signals((long) LiveStats.TAU_MILLIS);
        assertEquals(now.errorRate() / Math.E, later.errorRate(), 1e-9);
        s.firstToken(400, 0);
        assertEquals(1.0, s.signals(0).firstTokenFresh(), 1e-9);
        assertEquals(Math.exp(-2), s.signals(2 * (long) LiveStats.TAU_MILLIS).firstTokenFresh(), 1e-9);
    }

    @Test
    void successesBringTheErrorRateDown() {
        LiveStats s = new LiveStats();
        s.failed(0);
        double after = s.signals(0).errorRate();
        for (int i = 1; i <= 20; i++) {
            s.completed(100, i * 1_000L);
        }
        assertTrue(s.signals(20_000).errorRate() < after / 10, "" + s.signals(20_000).errorRate());
    }
}
