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

    /**
     * Regression: a probe on a pooled connection could fail with a read timeout a few ms after it began
     * (Helidon's idle-connection monitor racing the reuse, helidon#10861). No answer fits in those few ms,
     * so the busy rule could not excuse it, and a relay answering a burst was marked down. A probe now
     * opens a connection of its own and closes it.
     */
    @Test
    void everyProbeOfARelayOpensItsOwnConnection() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> serveHealth(server, accepted, answered));
            InstanceHealth health = new InstanceHealth("relay", 2, 2, System::currentTimeMillis);
            java.net.URI base = java.net.URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1");
            try (HealthProber prober = HealthProber.relay("relay", base, PROBE, Optional.empty(), health,
                    () -> Traffic.IN_FLIGHT, NEVER_STARVED)) {
                Await.until("five probes answered", Duration.ofSeconds(10), () -> answered.get() >= 5);
            }
            assertEquals(HealthState.UP, health.state());
            assertTrue(accepted.get() >= answered.get(), accepted.get() + " connections for " + answered.get() + " probes");
        }
    }

    /** A minimal HTTP/1.1 server for GET /health/ready that keeps a connection open for as many requests as its client sends. */
    private static void serveHealth(java.net.ServerSocket server, AtomicInteger accepted, AtomicInteger answered) {
        while (!server.isClosed()) {
            java.net.Socket socket;
            try {
                socket = server.accept();
            } catch (java.io.IOException e) {
                return; // closed by the test
            }
            accepted.incrementAndGet();
            Thread.ofVirtual().start(() -> {
                try (socket; var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                        java.nio.charset.StandardCharsets.US_ASCII)); var out = socket.getOutputStream()) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        if (line.isEmpty()) { // end of a request's headers: answer it, then wait for the next on this connection
                            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                            out.flush();
                            answered.incrementAndGet();
                        }
                    }
                } catch (java.io.IOException e) {
                    // the prober closed it
                }
            });
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
