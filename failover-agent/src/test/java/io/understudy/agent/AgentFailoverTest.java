package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.testkit.Await;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The failover rules, each over real sockets against real relays and provider-sim. */
class AgentFailoverTest {
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

    private static String upstreamOf(HttpResponse<String> r) {
        return r.headers().firstValue("x-understudy-upstream").orElse("none");
    }

    private static String why(HttpResponse<String> r) {
        return r.body() + " / decision: " + r.headers().firstValue("x-understudy-decision").orElse("-");
    }

    private static String text(HttpResponse<String> r) throws Exception {
        return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    @Test
    void healthyPrimaryServesAndNamesWhoAnswered() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "hello"));
        assertEquals(200, r.statusCode());
        assertEquals("primary-1", upstreamOf(r), () -> "attempts " + r.headers().firstValue("x-understudy-attempts")
                + " status " + h.status().path("tiers").toString() + " events " + h.status().path("recent_events").toString());
        assertEquals("primary", r.headers().firstValue("x-understudy-tier").orElseThrow());
        assertEquals("sim", r.headers().firstValue("x-understudy-provider").orElseThrow());
        assertEquals("gpt-4o-mini", r.headers().firstValue("x-understudy-model").orElseThrow());
        assertTrue(r.headers().firstValue("x-understudy-cost-usd").isPresent());
        assertEquals(h.expectedText("hello"), text(r));
    }

    @Test
    void primaryRefusingConnectionsFailsOverWithoutAnError() throws Exception {
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        HttpResponse<String> first = h.post("/v1/chat/completions", chat("m", false, "refused"));
        assertEquals(200, first.statusCode());
        assertEquals("standby-1", upstreamOf(first));
        h.awaitHealth("primary-1", "down");
        HttpResponse<String> later = h.post("/v1/chat/completions", chat("m", false, "refused"));
        assertEquals("1", later.headers().firstValue("x-understudy-attempts").orElseThrow(),
                "a primary marked down is skipped, not tried and timed out");
    }

    @Test
    void silentPrimaryCostsAboutASecondNotATimeout() throws Exception {
        h.primaryProxy.mode(TcpProxy.Mode.BLACKHOLE);
        long start = System.nanoTime();
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("m", false, "silent"));
        long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertEquals(200, r.statusCode());
        assertEquals("standby-1", upstreamOf(r));
        // the response timeout is 4 s here; the probes (0.2 s, fall 2) must win by far
        assertTrue(millis < 3000, "a blackholed primary cost " + millis + " ms");
    }

    @Test
    void inFlightRequestsAreReissuedTheMomentTheRelayIsMarkedDown() throws Exception {
        // Requests already waiting on the primary when it goes silent: the probes mark it down and
        // every attempt that has sent nothing to its client moves to the standby at once.
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        h.primaryProxy.mode(TcpProxy.Mode.BLACKHOLE);
        for (int i = 0; i < 5; i++) {
            String body = chat("m", false, "inflight " + i);
            inFlight.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return h.post("/v1/chat/completions", body);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (var f : inFlight) {
            HttpResponse<String> r = f.get();
            assertEquals(200, r.statusCode(), why(r));
            assertFalse(upstreamOf(r).equals("primary-1"));
        }
    }

    @Test
    void returnsToThePrimaryAfterItRecovers() throws Exception {
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        h.awaitHealth("primary-1", "down");
        assertEquals("standby-1", upstreamOf(h.post("/v1/chat/completions", chat("m", false, "back"))));
        h.primaryProxy.mode(TcpProxy.Mode.PASS);
        Await.until("traffic back on primary-1", Duration.ofSeconds(10), () -> {
            try {
                return upstreamOf(h.post("/v1/chat/completions", chat("m", false, "back"))).equals("primary-1");
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals("up", h.upstream("primary-1").path("health").asText());
    }

    @Test
    void bothRelaysDownMeansDirectProviderCalls() throws Exception {
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        h.standbyProxy.mode(TcpProxy.Mode.REFUSE);
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("m", false, "direct"));
        assertEquals(200, r.statusCode(), why(r));
        assertEquals("direct", r.headers().firstValue("x-understudy-tier").orElseThrow());
        assertEquals("sim", r.headers().firstValue("x-understudy-provider").orElseThrow());
        assertTrue(r.headers().firstValue("x-understudy-cost-usd").isPresent(), "the agent prices direct answers itself");
        assertEquals(h.expectedText("direct"), text(r));
    }

    @Test
    void providerErrorsBehindARelayDoNotBlameTheRelay() throws Exception {
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-503", false, "blame " + i));
            assertEquals(503, r.statusCode());
        }
        assertEquals("closed", h.upstream("primary-1").path("circuit").asText(), "a failing provider is not a dead relay");
        assertEquals("up", h.upstream("primary-1").path("health").asText());
        assertEquals("closed", h.upstream("standby-1").path("circuit").asText());
    }

    /**
     * Regression, outside benchmark "500 once, then healthy": the request left its tier and model at once.
     * The relay nearest the provider retries it once after a short pause; the agent sees one answer.
     */
    @Test
    void error500OnceIsRetriedOnTheSameProviderAfterAShortPause() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-500-once", false, "five hundred"));
        assertEquals(200, r.statusCode());
        assertEquals("primary-1", upstreamOf(r));
        assertEquals("1", r.headers().firstValue("x-understudy-attempts").orElseThrow(), "retried in the relay, not again here");
        JsonNode attempts = h.sim.attempts().toJson().path("attempts");
        assertEquals(2, attempts.size());
        long pause = attempts.get(1).path("time_ms").asLong() - attempts.get(0).path("time_ms").asLong();
        assertTrue(pause >= 50, "a jittered pause of at least half the 100 ms backoff: " + pause + " ms");
    }

    @Test
    void retryAfterIsHonouredAndAPathToAnotherProviderModelServesMeanwhile() throws Exception {
        // the standby routes "limited" to another provider model; it learns that from its first answer
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        assertEquals("standby-1", upstreamOf(h.post("/v1/chat/completions", chat("limited", false, "warm"))));
        h.reset();
        HttpResponse<String> first = h.post("/v1/chat/completions", chat("limited", false, "ra"));
        assertEquals(200, first.statusCode(), why(first));
        assertEquals("standby-1", upstreamOf(first), "the primary's provider said 429, Retry-After: 1");
        JsonNode cooling = h.upstream("primary-1").path("rate_limited_for_ms");
        assertTrue(cooling.has("limited"), "primary-1 is cooling for that model: " + cooling);
        int before = h.simAttempts();
        HttpResponse<String> second = h.post("/v1/chat/completions", chat("limited", false, "ra"));
        assertEquals("standby-1", upstreamOf(second));
        assertEquals("1", second.headers().firstValue("x-understudy-attempts").orElseThrow(),
                "the primary is not called again before Retry-After allows");
        assertEquals(before + 1, h.simAttempts());
        HttpResponse<String> other = h.post("/v1/chat/completions", chat("m", false, "ra"));
        assertEquals("primary-1", upstreamOf(other), "only that model is rate limited on the primary");
    }

    /**
     * Regression, outside benchmark through relays: after the provider behind the primary said 429 with
     * Retry-After, the same request reached that provider again 0.09 s later by another path. A
     * Retry-After binds the provider and model that sent it on every path: the standby (a replica) and
     * the direct tier wait too, and the agent waits it out once before passing it to the client.
     */
    @Test
    void aProvidersRetryAfterBindsEveryPathToThatProviderAndModel() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-429-retry-after", false, "everywhere"));
        assertEquals(429, r.statusCode());
        assertTrue(r.headers().firstValue("retry-after").isPresent());
        JsonNode attempts = h.sim.attempts().toJson().path("attempts");
        assertEquals(2, attempts.size(), "the first call, and one after waiting out Retry-After: " + attempts);
        long gap = attempts.get(1).path("time_ms").asLong() - attempts.get(0).path("time_ms").asLong();
        assertTrue(gap >= 950, "the provider was called again after " + gap + " ms; it said 1 s");
    }

    @Test
    void clientErrorsPassThroughAndAreNeverRetried() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-content-policy", false, "policy"));
        assertEquals(400, r.statusCode());
        assertEquals("content_policy_violation", Json.parse(r.body()).path("error").path("code").asText());
        assertEquals(1, h.simAttempts());
    }

    @Test
    void contextLengthMovesToTheConfiguredLargerModel() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-context-length", false, "long"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("bigger-context", r.headers().firstValue("x-understudy-model").orElseThrow(),
                "the answer names the model that answered");
    }

    @Test
    void modelFallbackFromTheBodyAnswersWhenNoTierCanServe() throws Exception {
        String body = "{\"model\":\"sim-503\",\"fallbacks\":[\"cheap-b\"],\"messages\":[{\"role\":\"user\",\"content\":\"fb\"}]}";
        HttpResponse<String> r = h.post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("cheap-b", r.headers().firstValue("x-understudy-model").orElseThrow(),
                "the response names the model that answered");
    }

    @Test
    void costGuardRefusesAnExpensiveFallbackAndSaysSo() throws Exception {
        // config: sim-503 falls back to premium-model, priced 30x: the guard (2x) refuses it
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-503", false, "guard"));
        assertEquals(503, r.statusCode());
        String message = Json.parse(r.body()).path("error").path("message").asText();
        assertTrue(message.contains("premium-model skipped by the cost guard"), message);
        assertTrue(h.sim.attempts().toJson().toString().contains("sim-503"));
        assertFalse(h.sim.attempts().toJson().toString().contains("premium-model"), "never called");
    }

    @Test
    void statusPageAndMetrics() throws Exception {
        h.post("/v1/chat/completions", chat("m", false, "metrics"));
        JsonNode status = h.status();
        assertEquals(3, status.path("tiers").size());
        assertTrue(status.path("counters").path("requests").asLong() > 0);
        String page = h.get("/").body();
        assertTrue(page.contains("primary-1") && page.contains("standby-1") && page.contains("direct:sim"));
        assertFalse(page.contains("<script src") || page.contains("http://cdn"), "no external assets");
        String metrics = h.get("/metrics").body();
        assertTrue(metrics.contains("understudy_agent_requests_total{outcome=\"ok\",tier=\"primary\"}"), metrics);
        assertTrue(metrics.contains("understudy_agent_circuit_state{upstream=\"primary-1\"}"));
        assertTrue(metrics.contains("understudy_agent_tokens_total"));
        // the GenAI conventions: served through primary-1 by the relay's provider sim, at the relay's address
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("gen_ai_client_operation_duration_seconds_count{")
                && l.contains("gen_ai_provider_name=\"sim\"") && l.contains("gen_ai_request_model=\"m\"")
                && l.contains("server_address=\"127.0.0.1\"")), metrics);
        assertTrue(metrics.contains("gen_ai_client_token_usage_count{"), metrics);
    }
}
