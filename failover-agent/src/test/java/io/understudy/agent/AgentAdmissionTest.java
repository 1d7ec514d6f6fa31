package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Topologies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression: 2,000 concurrent streams ran an agent with a 128 MB heap (the heap `understudy up`
 * gives it) out of memory; full collections back to back, and most requests failed. Past its limit
 * the agent now refuses at once, and what it admitted finishes.
 */
class AgentAdmissionTest {
    private static final int LIMIT = 2;
    private static ProviderSim sim;
    private static AgentServer agent;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        // each stream: 8 chunks 250 ms apart, so two stay open while the third request comes
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(250), 8));
        String yaml = Topologies.agentAlone(sim.baseUrl(), Optional.empty(), "", "")
                .replace("server: { host: 127.0.0.1, port: 0 }", "server: { host: 127.0.0.1, port: 0, max-concurrent-requests: " + LIMIT + " }");
        agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml(yaml), Map.<String, String>of()::get));
    }

    @AfterAll
    static void stop() {
        agent.close();
        sim.close();
    }

    private static HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    @Test
    void aRequestPastTheLimitIsRefusedAtOnceWhileTheAdmittedStreamsFinish() throws Exception {
        List<BufferedReader> open = new ArrayList<>();
        try {
            for (int i = 0; i < LIMIT; i++) {
                HttpResponse<InputStream> r = HTTP.send(post(chat("gpt-4o-mini", true, "held " + i)), HttpResponse.BodyHandlers.ofInputStream());
                assertEquals(200, r.statusCode());
                BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
                assertTrue(reader.readLine().startsWith("data: "), "stream " + i + " has begun");
                open.add(reader);
            }

            long before = System.nanoTime();
            HttpResponse<String> refused = HTTP.send(post(chat("gpt-4o-mini", false, "one too many")), HttpResponse.BodyHandlers.ofString());
            long tookMillis = (System.nanoTime() - before) / 1_000_000;
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("retry-after").orElse(""));
            JsonNode error = Json.parse(refused.body()).path("error");
            assertEquals("overloaded", error.path("code").asText(), refused.body());
            assertTrue(error.path("message").asText().contains("limit of 2 requests at once"), refused.body());
            assertTrue(tookMillis < 1_000, "refused without waiting for a stream to end: " + tookMillis + " ms");

            HttpResponse<String> live = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/health/live")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, live.statusCode(), "health and metrics are not counted against the limit");
            String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/metrics")).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("understudy_agent_refused_over_limit_total 1.0"), metrics);
            assertTrue(metrics.contains("understudy_agent_requests_in_flight 2.0"), metrics);

            for (BufferedReader reader : open) {
                String last = null;
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (!line.isEmpty()) {
                        last = line;
                    }
                }
                assertEquals("data: [DONE]", last, "an admitted stream runs to its end");
            }
        } finally {
            for (BufferedReader reader : open) {
                reader.close();
            }
        }

        // the permits came back: the limit counts requests in flight, not requests ever made
        HttpResponse<String> after = HTTP.send(post(chat("gpt-4o-mini", false, "after")), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, after.statusCode(), after.body());
    }

    @Test
    void theDefaultLimitFollowsTheHeap() {
        assertEquals(665, io.understudy.core.server.Admission.limitForHeap(128L * 1024 * 1024));
        assertEquals(1484, io.understudy.core.server.Admission.limitForHeap(256L * 1024 * 1024));
        assertEquals(64, io.understudy.core.server.Admission.limitForHeap(16L * 1024 * 1024));
    }
}
