package io.understudy.core.failover;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The adaptive first-token wait: drawn from what the (upstream, model) normally does, busy-aware. */
class FirstTokenDeadlineTest {
    private static final FirstTokenDeadline.Settings SHIPPED = FirstTokenDeadline.Settings.SHIPPED;

    @Test
    void withoutEnoughSamplesTheConfiguredTimeoutIsTheWait() {
        assertEquals(30_000, FirstTokenDeadline.waitMillis(SHIPPED, 30_000, OptionalLong.empty(), false));
        FirstTokenDeadline.Samples samples = new FirstTokenDeadline.Samples();
        for (int i = 0; i < SHIPPED.minSamples() - 1; i++) {
            samples.record(100, i);
        }
        assertTrue(samples.p99(SHIPPED.minSamples()).isEmpty());
        samples.record(100, 99);
        assertEquals(OptionalLong.of(100), samples.p99(SHIPPED.minSamples()));
    }

    @Test
    void aFastModelIsNotWaitedOnForTheWholeConfiguredTimeout() {
        assertEquals(2_000, FirstTokenDeadline.waitMillis(SHIPPED, 30_000, OptionalLong.of(300), false), "the floor");
        assertEquals(6_000, FirstTokenDeadline.waitMillis(SHIPPED, 30_000, OptionalLong.of(1_500), false), "4 x p99");
    }

    @Test
    void aSlowReasoningModelIsNeverCutBeforeItsConfiguredTimeout() {
        assertEquals(30_000, FirstTokenDeadline.waitMillis(SHIPPED, 30_000, OptionalLong.of(20_000), false));
        assertEquals(60_000, FirstTokenDeadline.waitMillis(SHIPPED, 60_000, OptionalLong.of(20_000), false));
    }

    @Test
    void disabledKeepsTheConfiguredTimeout() {
        var off = new FirstTokenDeadline.Settings(false, 4, Duration.ofSeconds(2), 8);
        assertEquals(30_000, FirstTokenDeadline.waitMillis(off, 30_000, OptionalLong.of(100), false));
    }

    /**
     * Regression, bin/bench blackhole of the primary relay (2026-12-02): a timer 50 ms late anywhere in
     * a wait made it no verdict, so on a loaded host silent streams waited for the probes' verdict.
     */
    @Test
    void aHostThatLostLittleOfTheWaitDoesNotExcuseTheSilence() {
        OptionalLong p99 = OptionalLong.of(80);
        assertInstanceOf(FirstTokenDeadline.Cut.class, FirstTokenDeadline.onSilence(400, 30_000, p99, false, new HostStall(120, 400)));
        assertInstanceOf(FirstTokenDeadline.KeepWaiting.class, FirstTokenDeadline.onSilence(400, 30_000, p99, false, new HostStall(200, 400)));
    }

    @Test
    void silenceIsCutOnlyWhenNothingSaysTheModelIsBusy() {
        OptionalLong p99 = OptionalLong.of(300);
        HostStall onTime = new HostStall(0, 2_000);
        HostStall stalled = new HostStall(1_200, 2_000);
        assertInstanceOf(FirstTokenDeadline.Cut.class, FirstTokenDeadline.onSilence(2_000, 30_000, p99, false, onTime));
        var busy = FirstTokenDeadline.onSilence(2_000, 30_000, p99, true, onTime);
        assertInstanceOf(FirstTokenDeadline.KeepWaiting.class, busy);
        assertTrue(busy.reason().contains("busy"), busy.reason());
        assertInstanceOf(FirstTokenDeadline.KeepWaiting.class, FirstTokenDeadline.onSilence(2_000, 30_000, p99, false, stalled));
        assertInstanceOf(FirstTokenDeadline.Cut.class, FirstTokenDeadline.onSilence(30_000, 30_000, p99, true, stalled),
                "the configured timeout is a ceiling whatever the signals");
    }

    @Test
    void p99AndArrivalsComeFromTheRecentSamples() {
        FirstTokenDeadline.Samples samples = new FirstTokenDeadline.Samples();
        for (int i = 1; i <= 100; i++) {
            samples.record(i, 1_000 + i);
        }
        assertEquals(OptionalLong.of(99), samples.p99(8));
        assertTrue(samples.arrivedSince(1_050));
        assertFalse(samples.arrivedSince(1_100));
        for (int i = 0; i < FirstTokenDeadline.Samples.CAPACITY; i++) {
            samples.record(10, 2_000 + i);
        }
        assertEquals(OptionalLong.of(10), samples.p99(8), "old samples age out");
    }

    @Test
    void aFloorTooSmallToRecheckIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new FirstTokenDeadline.Settings(true, 4, Duration.ofMillis(10), 8));
        assertThrows(IllegalArgumentException.class, () -> new FirstTokenDeadline.Settings(true, 0.5, Duration.ofSeconds(1), 8));
    }

    @Test
    void onASuspectUpstreamTheFirstTokenWaitHasNoFloor() {
        var shipped = FirstTokenDeadline.Settings.SHIPPED;
        assertEquals(2_000, FirstTokenDeadline.waitMillis(shipped, 30_000, OptionalLong.of(110), false));
        assertEquals(440, FirstTokenDeadline.waitMillis(shipped, 30_000, OptionalLong.of(110), true));
        assertEquals(FirstTokenDeadline.SUSPECT_MINIMUM, FirstTokenDeadline.waitMillis(shipped, 30_000, OptionalLong.of(5), true));
        assertEquals(30_000, FirstTokenDeadline.waitMillis(shipped, 30_000, OptionalLong.empty(), true),
                "without samples only the configured timeout applies");
    }
}
