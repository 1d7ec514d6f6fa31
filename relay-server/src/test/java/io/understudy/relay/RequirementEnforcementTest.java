package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.AttemptLog;
import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A relay enforces the client's x-understudy-require on every path: first choice, in-relay fallback,
 * streams, Messages, embeddings and pass-through. Which provider was reached is read from
 * provider-sim's attempt log: each provider is asked for a model name of its own.
 */
class RequirementEnforcementTest {
    private static final String YAML = """
            server: { host: 127.0.0.1, port: 0 }
            providers:
              - { name: eu, kind: openai, base-url: "${SIM}/v1", read-timeout: PT5S, tags: { region: eu, retention: zero } }
              - { name: eu-failing, kind: openai, base-url: "${SIM}/v1", read-timeout: PT5S, tags: { region: eu, retention: zero } }
              - { name: eu-anthropic, kind: anthropic, base-url: "${SIM}", read-timeout: PT5S, tags: { region: eu, retention: zero } }
              - { name: us, kind: openai, base-url: "${SIM}/v1", read-timeout: PT5S, tags: { region: us, retention: zero } }
              - { name: untagged, kind: openai, base-url: "${SIM}/v1", read-timeout: PT5S }
            routes:
              - model: "mixed"
                targets: [ { provider: us, model: us-served }, { provider: eu, model: eu-served } ]
              - model: "eu-down"
                targets: [ { provider: eu-failing, model: sim-503 }, { provider: us, model: us-served } ]
              - model: "us-only"
                targets: [ { provider: us, model: us-served }, { provider: untagged, model: untagged-served } ]
              - model: "claude-mixed"
                targets: [ { provider: us, model: us-served }, { provider: eu-anthropic, model: claude-eu-served } ]
            """;
    private static final String EU = "region=eu,retention=zero";

    private RelayHarness h;

    @BeforeEach
    void start() throws Exception {
        h = new RelayHarness(YAML, Map.of(), SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4));
    }

    @AfterEach
    void stop() {
        h.close();
    }

    private static String chat(String model, boolean stream) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    private List<String> modelsAsked() {
        return h.sim.attempts().list().stream().map(AttemptLog.Attempt::model).toList();
    }

    @Test
    void aNonCompliantFirstChoiceIsSkippedAndTheAnswerSaysWhatWasEnforced() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            h.clearAttempts();
            HttpResponse<String> r = h.post("/v1/chat/completions", chat("mixed", stream), "x-understudy-require", EU);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("eu", r.headers().firstValue("x-understudy-provider").orElseThrow());
            assertEquals(EU, r.headers().firstValue("x-understudy-requirement-enforced").orElseThrow());
            assertEquals(List.of("eu-served"), modelsAsked(), "stream=" + stream);
        }
        h.clearAttempts();
        HttpResponse<String> free = h.post("/v1/chat/completions", chat("mixed", false));
        assertEquals("us", free.headers().firstValue("x-understudy-provider").orElseThrow(), "no requirement: route order");
        assertTrue(free.headers().firstValue("x-understudy-requirement-enforced").isEmpty());
    }

    /** The field's worry: the compliant provider fails while a cheaper non-compliant one is healthy. */
    @Test
    void aFailingCompliantProviderNeverFallsBackToANonCompliantOne() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            h.clearAttempts();
            HttpResponse<String> r = h.post("/v1/chat/completions", chat("eu-down", stream), "x-understudy-require", EU);
            assertTrue(r.statusCode() >= 500, r.statusCode() + " " + r.body());
            assertTrue(Json.parse(r.body()).has("error"), r.body());
            assertFalse(modelsAsked().contains("us-served"), "stream=" + stream + ": " + modelsAsked());
            assertTrue(modelsAsked().contains("sim-503"));
        }
        HttpResponse<String> free = h.post("/v1/chat/completions", chat("eu-down", false));
        assertEquals(200, free.statusCode(), "without a requirement the fallback serves: " + free.body());
    }

    @Test
    void noCompliantProviderIsA422NamingTheRequirementAndNothingIsSent() throws Exception {
        h.clearAttempts();
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("us-only", false), "x-understudy-require", EU);
        assertEquals(422, r.statusCode());
        JsonNode error = Json.parse(r.body()).path("error");
        assertEquals("requirement_not_met", error.path("code").asText());
        String message = error.path("message").asText();
        assertTrue(message.contains(EU) && message.contains("us (region is us, not eu)")
                && message.contains("untagged (no region tag, no retention tag)"), message);
        HttpResponse<String> embed = h.post("/v1/embeddings", "{\"model\":\"us-only\",\"input\":\"x\"}", "x-understudy-require", EU);
        assertEquals(422, embed.statusCode(), embed.body());
        HttpResponse<String> passThrough = h.post("/v1/moderations", "{\"model\":\"us-only\",\"input\":\"x\"}",
                "x-understudy-require", EU);
        assertEquals(422, passThrough.statusCode(), passThrough.body());
        assertEquals(List.of(), modelsAsked());
        String metrics = h.get("/metrics").body();
        assertTrue(metrics.contains("understudy_relay_requirement_refusals_total{endpoint=\"chat\""), metrics);
    }

    @Test
    void messagesAndPassThroughHonourItToo() throws Exception {
        h.clearAttempts();
        HttpResponse<String> messages = h.post("/v1/messages", "{\"model\":\"claude-mixed\",\"max_tokens\":16,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "x-understudy-require", EU, "anthropic-version", "2023-06-01");
        assertEquals(200, messages.statusCode(), messages.body());
        assertEquals("eu-anthropic", messages.headers().firstValue("x-understudy-provider").orElseThrow());
        HttpResponse<String> passThrough = h.post("/v1/moderations", "{\"model\":\"mixed\",\"input\":\"x\"}",
                "x-understudy-require", EU);
        assertEquals(EU, passThrough.headers().firstValue("x-understudy-requirement-enforced").orElseThrow());
        assertFalse(modelsAsked().contains("us-served"), modelsAsked().toString());
    }

    @Test
    void aMalformedRequirementIsA400AndNothingIsSent() throws Exception {
        h.clearAttempts();
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("mixed", false), "x-understudy-require", "region");
        assertEquals(400, r.statusCode());
        assertTrue(Json.parse(r.body()).path("error").path("message").asText().contains("x-understudy-require"), r.body());
        assertEquals(List.of(), modelsAsked());
    }
}
