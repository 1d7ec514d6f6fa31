package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The relay takes the agent's limit of requests at once: past it, 503 overloaded at once, in each API's shape. */
class RelayAdmissionTest {
    private static final String STREAM = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"held\"}]}";

    @Test
    void aRequestPastTheLimitIsRefusedInItsOwnApisShapeWhileTheAdmittedStreamFinishes() throws Exception {
        String yaml = RelayHarness.DEFAULT_YAML.replace("  port: 0\n", "  port: 0\n  max-concurrent-requests: 1\n");
        // 8 chunks 250 ms apart: the stream stays open while the other requests come
        try (RelayHarness h = new RelayHarness(yaml, Map.of(), SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(250), 8))) {
            HttpResponse<InputStream> held = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(STREAM)).build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, held.statusCode());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(held.body(), StandardCharsets.UTF_8))) {
                assertTrue(reader.readLine().startsWith("data: "), "the stream has begun");

                HttpResponse<String> openAi = h.post("/v1/chat/completions", STREAM.replace("true", "false"));
                assertEquals(503, openAi.statusCode(), openAi.body());
                assertEquals("1", openAi.headers().firstValue("retry-after").orElse(""));
                assertEquals("overloaded", Json.parse(openAi.body()).path("error").path("code").asText(), openAi.body());

                HttpResponse<String> anthropic = h.post("/v1/messages",
                        "{\"model\":\"claude-x\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                        "anthropic-version", "2023-06-01");
                assertEquals(503, anthropic.statusCode(), anthropic.body());
                JsonNode error = Json.parse(anthropic.body());
                assertEquals("error", error.path("type").asText(), anthropic.body());
                assertEquals("overloaded_error", error.path("error").path("type").asText(), anthropic.body());

                String metrics = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/metrics")).GET().build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(metrics.contains("understudy_relay_refused_over_limit_total{role=\"primary\"} 2.0"), metrics);
                assertTrue(metrics.contains("understudy_relay_requests_in_flight_limit{role=\"primary\"} 1.0"), metrics);

                String last = null;
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (!line.isEmpty()) {
                        last = line;
                    }
                }
                assertEquals("data: [DONE]", last, "the admitted stream runs to its end");
            }
            HttpResponse<String> after = h.post("/v1/chat/completions", STREAM.replace("true", "false"));
            assertEquals(200, after.statusCode(), "the permit came back: " + after.body());
        }
    }
}
