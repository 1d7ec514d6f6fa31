package io.understudy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.understudy.agent.HealthProber.ProbeResult;
import io.understudy.agent.HealthProber.Traffic;
import io.understudy.core.failover.HealthState;
import io.understudy.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The probe pace, and probes that do not wait for each other. */
class HealthProberTest {
    private static final Duration INTERVAL = Duration.ofMillis(500);
    private static final AgentConfig.Probe PROBE = new AgentConfig.Probe(true, "/health/ready", INTERVAL,
            Duration.ofMillis(400), 2, 2, false);
    private static final HealthProber.Starved NEVER_STARVED = (started, interval) -> Optional.empty();

    @Test
    void anUpstreamCarryingRequestsIsProbedFourTimesAsOftenSoASilenceIsFoundSooner() {
        // the silent-primary bound: requests in flight wait a quarter interval, a probe timeout, then (fall - 1) quarters
        assertEquals(Duration.ofMillis(125), HealthProber.pause(HealthState.UP, Traffic.IN_FLIGHT, INTERVAL));
        assertEquals(INTERVAL, HealthProber.pause(HealthState.UP, Traffic.IDLE, INTERVAL));
        assertEquals(Duration.ofSeconds(5), HealthProber.pause(HealthState.UP, Traffic.QUIET, INTERVAL));
    }

    @Test
    void aSuspectIsConfirmedSoonAndADownOneWatchedForItsRecoveryWhateverItCarries() {
        for (Traffic traffic : Traffic.values()) {
            assertEquals(Duration.ofMillis(125), HealthProber.pause(HealthState.SUSPECT, traffic, INTERVAL));
            assertEquals(Duration.ofMillis(250), HealthProber.pause(HealthState.DOWN, traffic, INTERVAL));
            assertEquals(Duration.ofMillis(125), HealthProber.pause(HealthState.UNKNOWN, traffic, INTERVAL));
        }
    }

    /**
     * The regression behind scenario 21's thin margin: each probe waited for the last to time out, so a
     * silence was confirmed a whole probe timeout after it was suspected. Now the confirming probe is
     * already on its way when the first one times out.
     */
    @Test
    void aSilentUpstreamIsConfirmedByAProbeStartedBeforeTheFirstTimedOut() throws Exception {
        InstanceHealth health = new InstanceHealth("silent", 2, 2, System::currentTimeMillis);
        List<Long> starts = new CopyOnWriteArrayList<>();
        CountDownLatch down = new CountDownLatch(1);
        health.onTransition(t -> {
            if (t.to() == HealthState.DOWN) {
                down.countDown();
            }
        });
        health.probeSucceeded();
        HealthProber.Check silent = () -> {
            starts.add(System.nanoTime());
            return silence(PROBE.timeout());
        };
        try (HealthProber prober = new HealthProber("silent", PROBE, health, silent, () -> Traffic.IN_FLIGHT, NEVER_STARVED)) {
            assertTrue(down.await(5, TimeUnit.SECONDS), "marked down");
            assertTrue(starts.size() >= 2, "two probes at least");
            // the second probe's timeout is the second failure in a row: it confirmed the silence
            assertTrue(starts.get(1) < starts.get(0) + PROBE.timeout().toNanos(),
                    "the confirming probe started before the first one timed out");
        }
    }

    /** An answer to a later probe says more than an earlier probe's silence: it must not make a live upstream suspect. */
    @Test
    void anEarlierProbesTimeoutAfterALaterProbesAnswerIsStaleAndDropped() throws Exception {
        InstanceHealth health = new InstanceHealth("flaky-connection", 2, 2, System::currentTimeMillis);
        List<HealthState> states = new CopyOnWriteArrayList<>();
        health.onTransition(t -> states.add(t.to()));
        AtomicInteger calls = new AtomicInteger();
        HealthProber.Check firstHangs = () -> calls.incrementAndGet() == 1 ? silence(PROBE.timeout()) : ProbeResult.OK;
        try (HealthProber prober = new HealthProber("flaky-connection", PROBE, health, firstHangs, () -> Traffic.IN_FLIGHT,
                NEVER_STARVED)) {
            Await.until("the first probe's timeout arrives, after a later probe answered", Duration.ofSeconds(5),
                    () -> prober.staleResults() == 1);
            assertEquals(List.of(HealthState.UP), states, "never suspect");
        }
    }

    private static ProbeResult silence(Duration timeout) {
        try {
            Thread.sleep(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new ProbeResult(false, true, "timeout after " + timeout.toMillis() + " ms");
    }
}
