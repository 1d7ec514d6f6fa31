package io.understudy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.understudy.agent.HealthProber.Traffic;
import io.understudy.core.failover.HealthState;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The probe pace: what is at stake decides how soon the next probe starts. */
class HealthProberTest {
    private static final Duration INTERVAL = Duration.ofMillis(500);

    @Test
    void anUpstreamCarryingRequestsIsProbedTwiceAsOftenSoASilenceIsFoundSooner() {
        // the silent-primary bound: requests in flight wait one probe start plus fall x timeout
        assertEquals(Duration.ofMillis(250), HealthProber.pause(HealthState.UP, Traffic.IN_FLIGHT, INTERVAL));
        assertEquals(INTERVAL, HealthProber.pause(HealthState.UP, Traffic.IDLE, INTERVAL));
        assertEquals(Duration.ofSeconds(5), HealthProber.pause(HealthState.UP, Traffic.QUIET, INTERVAL));
    }

    @Test
    void aSuspectIsConfirmedAtOnceAndADownOneWatchedForItsRecoveryWhateverItCarries() {
        for (Traffic traffic : Traffic.values()) {
            assertEquals(Duration.ZERO, HealthProber.pause(HealthState.SUSPECT, traffic, INTERVAL));
            assertEquals(Duration.ofMillis(250), HealthProber.pause(HealthState.DOWN, traffic, INTERVAL));
            assertEquals(Duration.ofMillis(125), HealthProber.pause(HealthState.UNKNOWN, traffic, INTERVAL));
        }
    }
}
