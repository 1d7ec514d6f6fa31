package io.understudy.agent;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.understudy.agent.InstanceHealth.State.DOWN;
import static io.understudy.agent.InstanceHealth.State.SUSPECT;
import static io.understudy.agent.InstanceHealth.State.UNKNOWN;
import static io.understudy.agent.InstanceHealth.State.UP;
import static org.junit.jupiter.api.Assertions.assertEquals;

class InstanceHealthTest {
    private final AtomicLong now = new AtomicLong(1000);
    private final InstanceHealth health = new InstanceHealth("primary-1", 2, 2, now::get);
    private final List<InstanceHealth.Transition> seen = new ArrayList<>();

    {
        health.onTransition(seen::add);
    }

    @Test
    void startsUnknownAndGoesUpOnFirstGoodProbe() {
        assertEquals(UNKNOWN, health.state());
        health.probeSucceeded();
        assertEquals(UP, health.state());
        assertEquals(1, seen.size());
    }

    @Test
    void oneFailureIsSuspectTwoAreDown() {
        health.probeSucceeded();
        health.probeFailed("timeout");
        assertEquals(SUSPECT, health.state());
        now.addAndGet(1000);
        health.probeFailed("timeout");
        assertEquals(DOWN, health.state());
        assertEquals(2000, health.sinceMillis());
        assertEquals("2 probes failed in a row: timeout", seen.get(seen.size() - 1).reason());
    }

    @Test
    void aBlipRecoversOnOneGoodProbe() {
        health.probeSucceeded();
        health.probeFailed("reset");
        health.probeSucceeded();
        assertEquals(UP, health.state());
    }

    @Test
    void downNeedsRiseGoodProbesInARow() {
        health.probeFailed("refused");
        health.probeFailed("refused");
        assertEquals(DOWN, health.state());
        health.probeSucceeded();
        assertEquals(DOWN, health.state(), "one good probe is not a recovery");
        health.probeFailed("refused");
        health.probeSucceeded();
        assertEquals(DOWN, health.state(), "the run of good probes restarts after a failure");
        health.probeSucceeded();
        assertEquals(UP, health.state());
    }

    @Test
    void aListenerThatThrowsDoesNotBreakTransitions() {
        health.onTransition(t -> {
            throw new IllegalStateException("bug in listener");
        });
        health.probeSucceeded();
        health.probeFailed("x");
        assertEquals(SUSPECT, health.state());
        assertEquals(List.of(UP, SUSPECT), seen.stream().map(InstanceHealth.Transition::to).toList());
    }
}
