package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.SimConfig;
import io.understudy.sim.FaultMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The relay in front of a real provider-sim, over real sockets. A fresh relay per test: the relay
 * remembers what its providers did (circuits, Retry-After), and one test's faults must not steer another.
 */
class RelayTest {
    private RelayHarness h;

    @BeforeEach
    void start() throws Exception {
        h = RelayHarness.standard();
    }

    @AfterEach
    void stop() {
        h.close();
    }

    private static String chat(String model, boolean stream, String content) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    }

    private static String text(HttpResponse<String> r) throws Exception {
        return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    @Test
    void nonStreamingAnswerNamesProviderModelAndCost() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "price me"));
        assertEquals(200, r.statusCode());
        JsonNode body = Json.parse(r.body());
        JsonNode usage = body.path("usage");
        assertEquals("sim", r.headers().firstValue("x-understudy-provider").orElseThrow());
        assertEquals("gpt-4o-mini", r.headers().firstValue("x-understudy-model").orElseThrow());
        BigDecimal expectedProvider = new BigDecimal("0.15").multiply(BigDecimal.valueOf(usage.path("prompt_tokens").asLong()))
                .add(new BigDecimal("0.60").multiply(BigDecimal.valueOf(usage.path("completion_tokens").asLong())))
                .movePointLeft(6);
        BigDecimal expectedTotal = expectedProvider.multiply(new BigDecimal("1.10")); // fee-percent: 10
        assertEquals(0, expectedTotal.compareTo(new BigDecimal(r.headers().firstValue("x-understudy-cost-usd").orElseThrow())));
        assertEquals(8, usage.path("completion_tokens").asInt());
    }

    @Test
    void streamingGivesTheSameAnswerEndingInDone() throws Exception {
        String whole = text(h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "same")));
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("gpt-4o-mini", true, "same"));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        assertEquals(whole, Sse.openAiText(r.body()));
        List<String> data = Sse.dataLines(r.body());
        assertEquals("[DONE]", data.get(data.size() - 1));
        assertFalse(r.body().contains("\"choices\":[],\"usage\""), "no usage chunk unless the client asked");
        assertTrue(r.body().contains(": understudy-cost-usd="), "cost as an SSE comment");

        String withUsage = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"same\"}]}";
        assertTrue(h.post("/v1/chat/completions", withUsage).body().contains("\"choices\":[],\"usage\""));
    }

    @Test
    void embeddingsAndModels() throws Exception {
        HttpResponse<String> r = h.post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"hi\"}");
        assertEquals(200, r.statusCode());
        assertEquals(16, Json.parse(r.body()).path("data").path(0).path("embedding").size());
        assertEquals("sim", r.headers().firstValue("x-understudy-provider").orElseThrow());
        JsonNode models = Json.parse(h.get("/v1/models").body());
        assertEquals("list", models.path("object").asText());
        assertTrue(models.path("data").toString().contains("gpt-4o-mini"));
    }

    /** Regression: /v1/models listed only literal routes, so a relay routing "*" listed nothing the provider serves. */
    @Test
    void theModelListHoldsWhatPatternRoutesReachInEitherShape() throws Exception {
        JsonNode models = Json.parse(h.get("/v1/models").body());
        java.util.List<String> ids = new java.util.ArrayList<>();
        models.path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertTrue(ids.containsAll(java.util.List.of("ratelimited", "gpt-4o-mini", "sim-small", "sim-large", "claude-sonnet-4-5")), ids.toString());
        assertEquals(ids.size(), new java.util.HashSet<>(ids).size(), "no model listed twice: " + ids);
        assertEquals("provider-sim", models.path("data").path(ids.indexOf("sim-small")).path("owned_by").asText());

        JsonNode anthropic = Json.parse(h.get("/v1/models", "anthropic-version", "2023-06-01").body());
        assertEquals("model", anthropic.path("data").path(0).path("type").asText());
        assertEquals(ids.size(), anthropic.path("data").size());
        assertEquals(false, anthropic.path("has_more").asBoolean(true));
    }

    @Test
    void anthropicClientsCanCallTheRelay() throws Exception {
        String request = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"system\":\"Be terse.\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi anthropic\"}]}";
        HttpResponse<String> r = h.post("/v1/messages", request);
        assertEquals(200, r.statusCode());
        JsonNode message = Json.parse(r.body());
        assertEquals("message", message.path("type").asText());
        assertEquals("end_turn", message.path("stop_reason").asText());
        assertEquals(8, message.path("usage").path("output_tokens").asInt());
        String text = message.path("content").path(0).path("text").asText();

        HttpResponse<String> streamed = h.post("/v1/messages", request.replace("\"max_tokens\":100", "\"max_tokens\":100,\"stream\":true"));
        assertEquals(text, Sse.anthropicText(streamed.body()));
        assertTrue(streamed.body().contains("event: message_stop"));
        assertTrue(streamed.body().contains("\"stop_reason\":\"end_turn\""));
    }

    @Test
    void openAiClientsReachAnthropicProvidersThroughTranslation() throws Exception {
        String request = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                + "{\"role\":\"user\",\"content\":\"to anthropic\"}]}";
        HttpResponse<String> r = h.post("/v1/chat/completions", request);
        assertEquals(200, r.statusCode());
        assertEquals("sim-anthropic", r.headers().firstValue("x-understudy-provider").orElseThrow());
        JsonNode body = Json.parse(r.body());
        assertEquals("chat.completion", body.path("object").asText());
        assertEquals("stop", body.path("choices").path(0).path("finish_reason").asText());
        String text = body.path("choices").path(0).path("message").path("content").asText();
        assertEquals(8, text.split(" ").length);

        HttpResponse<String> streamed = h.post("/v1/chat/completions", request.replace("{\"model\"", "{\"stream\":true,\"model\""));
        assertEquals(text, Sse.openAiText(streamed.body()));
        assertTrue(streamed.body().endsWith("data: [DONE]\n\n"));
    }

    @Test
    void toolCallsSurviveTranslationBothWays() throws Exception {
        String request = "{\"model\":\"claude-x\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"parameters\":{\"type\":\"object\"}}}],"
                + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"weather\"}}}";
        JsonNode choice = Json.parse(h.post("/v1/chat/completions", request).body()).path("choices").path(0);
        assertEquals("tool_calls", choice.path("finish_reason").asText());
        assertEquals("weather", choice.path("message").path("tool_calls").path(0).path("function").path("name").asText());
        assertTrue(choice.path("message").path("tool_calls").path(0).path("function").path("arguments").asText().startsWith("{\"echo\""));

        String anthropic = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
                + "\"tools\":[{\"name\":\"weather\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"tool\",\"name\":\"weather\"}}";
        JsonNode message = Json.parse(h.post("/v1/messages", anthropic).body());
        assertEquals("tool_use", message.path("stop_reason").asText());
        assertEquals("weather", message.path("content").path(0).path("name").asText());
        assertTrue(message.path("content").path(0).path("input").has("echo"));
    }

    @Test
    void unreachableProviderFallsBackToTheNextTarget() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("fallback-x", false, "fb"));
        assertEquals(200, r.statusCode());
        assertEquals("sim", r.headers().firstValue("x-understudy-provider").orElseThrow());
        assertEquals("fallback-served", r.headers().firstValue("x-understudy-model").orElseThrow());
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        JsonNode receipt = Json.parse(h.get("/v1/receipts/" + id).body());
        assertEquals("dead", receipt.path("attempts").path(0).path("provider").asText());
        assertEquals("connect_refused", receipt.path("attempts").path(0).path("outcome").asText());
        assertEquals("ok", receipt.path("attempts").path(1).path("outcome").asText());
        assertEquals("fallback-served", receipt.path("model").asText(), "billed to the model that answered");
    }

    @Test
    void rateLimitedTargetFallsBackAndIsCalledOnce() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("ratelimited", false, "rl"));
        assertEquals(200, r.statusCode());
        assertEquals("after-429", r.headers().firstValue("x-understudy-model").orElseThrow());
        assertEquals(2, h.simAttempts());
    }

    /** Regression, outside benchmark: a provider that sent Retry-After was called again 0.09 s later. */
    @Test
    void aRetryAfterKeepsTheRelayOffThatProviderAndModelOnly() throws Exception {
        h.sim.storm(FaultMode.RATE_LIMIT_RETRY_AFTER, 1, 60, "limited-");
        HttpResponse<String> first = h.post("/v1/chat/completions", chat("limited-a", false, "x"));
        assertEquals(429, first.statusCode());
        assertEquals("60", first.headers().firstValue("retry-after").orElseThrow());
        assertEquals(1, h.simAttempts());

        HttpResponse<String> again = h.post("/v1/chat/completions", chat("limited-a", false, "x"));
        assertEquals(429, again.statusCode(), again.body());
        long left = Long.parseLong(again.headers().firstValue("retry-after").orElseThrow());
        assertTrue(left >= 1 && left <= 60, "the time left of the provider's Retry-After: " + left);
        assertEquals("sim", again.headers().firstValue("x-understudy-error-provider").orElseThrow());
        assertEquals("limited-a", again.headers().firstValue("x-understudy-error-model").orElseThrow());
        assertEquals(1, h.simAttempts(), "not called again while its Retry-After runs");

        assertEquals(429, h.post("/v1/chat/completions", chat("limited-b", false, "x")).statusCode());
        assertEquals(2, h.simAttempts(), "another model on the same provider is still called");
        assertEquals(200, h.post("/v1/chat/completions", chat("steady", false, "x")).statusCode());
    }

    @Test
    void aProviderThatKeepsRefusingIsLeftOutOnceItsCircuitOpens() throws Exception {
        for (int i = 0; i < 3; i++) { // circuit-breaker.consecutive-failures as shipped
            HttpResponse<String> r = h.post("/v1/chat/completions", chat("fallback-x", false, "fb" + i));
            assertEquals(200, r.statusCode());
            assertEquals("dead", receipt(r).path("attempts").path(0).path("provider").asText(), "tried first while closed");
        }
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("fallback-x", false, "fb"));
        assertEquals(200, r.statusCode());
        JsonNode attempts = receipt(r).path("attempts");
        assertEquals(1, attempts.size(), "the open circuit is not dialled: " + attempts);
        assertEquals("sim", attempts.path(0).path("provider").asText());
    }

    @Test
    void aTransientFiveHundredIsRetriedOnceOnTheSameProvider() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-500-once", false, "once"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode attempts = receipt(r).path("attempts");
        assertEquals("upstream_500", attempts.path(0).path("outcome").asText(), attempts.toString());
        assertEquals("sim", attempts.path(1).path("provider").asText());
        assertEquals("ok", attempts.path(1).path("outcome").asText());
        assertEquals(2, h.simAttempts());
    }

    private JsonNode receipt(HttpResponse<String> r) throws Exception {
        return Json.parse(h.get("/v1/receipts/" + r.headers().firstValue("x-request-id").orElseThrow()).body());
    }

    @Test
    void clientErrorsPassThroughWithoutFallback() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("strict", false, "long"));
        assertEquals(400, r.statusCode());
        assertEquals("context_length_exceeded", Json.parse(r.body()).path("error").path("code").asText());
        assertEquals("provider", r.headers().firstValue("x-understudy-error-origin").orElseThrow());
        assertEquals(1, h.simAttempts(), "a client error is not retried elsewhere");
    }

    @Test
    void whenEveryTargetFailsTheLastFailureIsReportedAsTheProvidersFault() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("all-down", false, "down"));
        assertEquals(502, r.statusCode());
        assertEquals("provider", r.headers().firstValue("x-understudy-error-origin").orElseThrow());
        assertEquals("connect_refused", Json.parse(r.body()).path("error").path("code").asText());
    }

    @Test
    void rateLimitWithoutFallbackKeepsRetryAfter() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-429-retry-after", false, "x"));
        assertEquals(429, r.statusCode());
        assertEquals("1", r.headers().firstValue("retry-after").orElseThrow());
        assertEquals("sim", r.headers().firstValue("x-understudy-error-provider").orElseThrow(),
                "names the provider that said wait, so callers bind Retry-After to it on every path");
        assertEquals("sim-429-retry-after", r.headers().firstValue("x-understudy-error-model").orElseThrow());
    }

    @Test
    void streamThatFailsBeforeTheFirstByteFallsBack() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("reset-then-ok", true, "rs"));
        assertEquals(200, r.statusCode());
        assertEquals("after-reset", r.headers().firstValue("x-understudy-model").orElseThrow());
        assertTrue(r.body().endsWith("data: [DONE]\n\n"));
    }

    @Test
    void streamCutAfterTheFirstByteEndsWithAnErrorEventNotDone() throws Exception {
        String whole = text(h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "cut me")));
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-cut", true, "cut me"));
        assertEquals(200, r.statusCode());
        List<String> data = Sse.dataLines(r.body());
        JsonNode last = Json.parse(data.get(data.size() - 1));
        assertEquals("stream_broken", last.path("error").path("code").asText());
        assertFalse(r.body().contains("[DONE]"), "a cut stream must not look complete");
        String partial = Sse.openAiText(r.body());
        assertTrue(whole.startsWith(partial) && partial.length() < whole.length());

        HttpResponse<String> anthropic = h.post("/v1/messages", "{\"model\":\"sim-cut\",\"max_tokens\":10,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"cut me\"}]}");
        assertTrue(anthropic.body().contains("event: error"));
        assertFalse(anthropic.body().contains("event: message_stop"));
    }

    @Test
    void malformedChunkFailsTheStreamCleanly() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-malformed", true, "m"));
        List<String> data = Sse.dataLines(r.body());
        for (String d : data) {
            Json.parse(d.equals("[DONE]") ? "{}" : d); // nothing unparseable reaches the client
        }
        assertEquals("stream_broken", Json.parse(data.get(data.size() - 1)).path("error").path("code").asText());
    }

    @Test
    void streamWithoutDoneIsFinalisedByTheRelay() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("sim-no-done", true, "nd"));
        assertTrue(r.body().endsWith("data: [DONE]\n\n"));
        assertEquals(text(h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "nd"))), Sse.openAiText(r.body()));
    }

    @Test
    void receiptItemisesProviderCostAndFee() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", chat("gpt-4o-mini", true, "receipt"));
        String path = r.headers().firstValue("x-understudy-receipt").orElseThrow();
        JsonNode receipt = Json.parse(h.get(path).body());
        BigDecimal provider = new BigDecimal(receipt.path("cost").path("provider").asText());
        BigDecimal fee = new BigDecimal(receipt.path("cost").path("relay_fee").asText());
        BigDecimal total = new BigDecimal(receipt.path("cost").path("total").asText());
        assertTrue(provider.signum() > 0);
        assertEquals(0, provider.multiply(new BigDecimal("0.1")).compareTo(fee));
        assertEquals(0, provider.add(fee).compareTo(total));
        assertEquals(8, receipt.path("usage").path("completion_tokens").asInt(), "streams are priced from their usage");
        assertEquals(404, h.get("/v1/receipts/req_unknown").statusCode());
    }

    @Test
    void metricsAndHealth() throws Exception {
        h.post("/v1/chat/completions", chat("gpt-4o-mini", false, "metrics"));
        String metrics = h.get("/metrics").body();
        assertTrue(metrics.contains("understudy_relay_requests_total{endpoint=\"chat\",outcome=\"ok\",role=\"primary\"}"), metrics);
        assertTrue(metrics.contains("understudy_relay_tokens_total"));
        assertTrue(metrics.contains("understudy_relay_cost_usd_total"));
        assertTrue(metrics.contains("understudy_relay_retry_budget_window_allowed{role=\"primary\"}"), "the failover budget is watched");
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("gen_ai_client_operation_duration_seconds_count{")
                && l.contains("gen_ai_provider_name=\"sim\"") && l.contains("gen_ai_request_model=\"gpt-4o-mini\"")
                && l.contains("error_type=\"\"")), "the GenAI conventions' operation duration: " + metrics);
        assertTrue(metrics.contains("gen_ai_client_token_usage_count{"), "the GenAI conventions' token usage");
        assertEquals(200, h.get("/health/live").statusCode());
        assertEquals(200, h.get("/health/ready").statusCode());
    }

    @Test
    void disabledProviderIsExplainedNotHidden() throws Exception {
        String yaml = RelayHarness.DEFAULT_YAML.replace("""
                  - name: dead
                    kind: openai""", """
                  - name: dead
                    kind: openai
                    api-key-env: MISSING_KEY_FOR_TEST""");
        try (RelayHarness other = new RelayHarness(yaml, Map.of(),
                SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4))) {
            HttpResponse<String> r = other.post("/v1/chat/completions", chat("fallback-x", false, "x"));
            assertEquals(200, r.statusCode(), "the disabled target is skipped");
            HttpResponse<String> none = other.post("/v1/chat/completions", chat("all-down", false, "x"));
            assertEquals(502, none.statusCode(), "the sim-503 target is still tried");
        }
    }
}
