package io.understudy.agent;

import io.understudy.core.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The provider-sim faults not covered elsewhere, behind both relays and the direct tier: each ends in
 * a bounded time with a clean error, and none of them is blamed on a relay.
 */
class AgentFaultModesTest {
    private static AgentHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = AgentHarness.standard();
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @BeforeEach
    void reset() {
        h.reset();
    }

    private static long timed(Runnable r) {
        long start = System.nanoTime();
        r.run();
        return Duration.ofNanos(System.nanoTime() - start).toMillis();
    }

    private void relaysNotBlamed() {
        assertEquals("closed", h.upstream("primary-1").path("circuit").asText());
        assertEquals("closed", h.upstream("standby-1").path("circuit").asText());
        assertEquals("up", h.upstream("primary-1").path("health").asText());
    }

    @Test
    void rateLimitWithoutRetryAfterCoolsDownBrieflyAndEndsIn429() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-429", false, "no retry-after"));
        assertEquals(429, r.statusCode());
        assertTrue(h.simAttempts() <= 6, "bounded attempts: " + h.simAttempts());
        relaysNotBlamed();
    }

    @Test
    void providerResettingConnectionsIsACleanErrorAndNotTheRelaysFault() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-reset", false, "reset"));
        assertEquals(502, r.statusCode());
        assertEquals("connection_reset", Json.parse(r.body()).path("error").path("code").asText());
        assertEquals(3, h.simAttempts(), () -> "one attempt per tier: " + h.sim.attempts().toJson() + " " + r.headers().map());
        relaysNotBlamed();
    }

    @Test
    void silentProviderEndsInATimeoutNotAHang() throws Exception {
        HttpResponse<String>[] holder = new HttpResponse[1];
        long millis = timed(() -> {
            try {
                holder[0] = h.post("/v1/chat/completions", chat("sim-blackhole", false, "silent provider"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(504, holder[0].statusCode(), holder[0].body());
        assertTrue(millis < 20_000, "took " + millis + " ms");
        relaysNotBlamed();
    }

    @Test
    void slowFirstTokenEverywhereEndsInATimeoutNotAHang() throws Exception {
        HttpResponse<String>[] holder = new HttpResponse[1];
        long millis = timed(() -> {
            try {
                holder[0] = h.post("/v1/chat/completions", chat("sim-slow-first-token", true, "slow"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(504, holder[0].statusCode(), holder[0].body());
        assertFalse(holder[0].body().contains("[DONE]"));
        assertTrue(holder[0].body().contains("no first token"), holder[0].body());
        assertTrue(millis < 20_000, "took " + millis + " ms");
    }
}
