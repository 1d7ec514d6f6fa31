package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.understudy.core.Json;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseReader;
import io.understudy.sim.AttemptLog;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real clients against the agent: the official OpenAI SDK, Anthropic-shaped calls, and bad input. */
class AgentClientsTest {
    private static AgentHarness h;
    private static OpenAIClient sdk;

    @BeforeAll
    static void start() throws Exception {
        h = AgentHarness.standard();
        sdk = OpenAIOkHttpClient.builder().baseUrl(h.base() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
    }

    @AfterAll
    static void stop() {
        sdk.close();
        h.close();
    }

    @BeforeEach
    void reset() {
        h.reset();
    }

    private static ChatCompletionCreateParams params(String content) {
        return ChatCompletionCreateParams.builder().model("gpt-4o-mini").addUserMessage(content).build();
    }

    @Test
    void openAiSdkThroughTheAgentAcrossAFailover() throws Exception {
        String expected = h.expectedText("sdk");
        ChatCompletion before = sdk.chat().completions().create(params("sdk"));
        assertEquals(expected, before.choices().get(0).message().content().orElseThrow());
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        ChatCompletion after = sdk.chat().completions().create(params("sdk"));
        assertEquals(expected, after.choices().get(0).message().content().orElseThrow());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = sdk.chat().completions().createStreaming(params("sdk"))) {
            stream.stream().forEach(c -> c.choices().forEach(choice -> choice.delta().content().ifPresent(streamed::append)));
        }
        assertEquals(expected, streamed.toString());
    }

    private static String responsesText(com.openai.models.responses.Response response) {
        StringBuilder sb = new StringBuilder();
        response.output().forEach(item -> item.message().ifPresent(m -> m.content().forEach(
                c -> c.outputText().ifPresent(t -> sb.append(t.text())))));
        return sb.toString();
    }

    @Test
    void openAiSdkListsTheModelsTheRelaysReach() {
        List<String> ids = sdk.models().list().data().stream().map(com.openai.models.models.Model::id).toList();
        assertTrue(ids.contains("sim-small") && ids.contains("gpt-4o-mini"), "what provider-sim lists, through a pattern route: " + ids);
    }

    @Test
    void openAiSdkResponsesThroughTheAgentAcrossAFailover() throws Exception {
        String expected = h.expectedText("sdk responses");
        var params = com.openai.models.responses.ResponseCreateParams.builder().model("gpt-4o-mini").input("sdk responses").build();
        assertEquals(expected, responsesText(sdk.responses().create(params)));
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        com.openai.models.responses.Response after = sdk.responses().create(params);
        assertEquals(expected, responsesText(after));
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<com.openai.models.responses.ResponseStreamEvent> stream = sdk.responses().createStreaming(params)) {
            stream.stream().forEach(e -> e.outputTextDelta().ifPresent(d -> streamed.append(d.delta())));
        }
        assertEquals(expected, streamed.toString());
    }

    @Test
    void anthropicShapedCallsAndEmbeddingsAndModels() throws Exception {
        HttpResponse<String> r = h.post("/v1/messages", "{\"model\":\"claude-x\",\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"anthropic\"}]}");
        assertEquals(200, r.statusCode());
        JsonNode message = Json.parse(r.body());
        assertEquals("message", message.path("type").asText());
        assertEquals(h.expectedText("anthropic"), message.path("content").path(0).path("text").asText());
        HttpResponse<String> e = h.post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"]}");
        assertEquals(200, e.statusCode());
        assertEquals(2, Json.parse(e.body()).path("data").size());
        assertEquals("primary-1", e.headers().firstValue("x-understudy-upstream").orElseThrow());
        HttpResponse<String> models = h.get("/v1/models");
        assertEquals(200, models.statusCode());
        assertEquals("list", Json.parse(models.body()).path("object").asText());
        assertTrue(Json.parse(models.body()).path("data").toString().contains("\"sim-small\""),
                "the relay's pattern route lists what provider-sim serves: " + models.body());
        JsonNode anthropicModels = Json.parse(h.get("/v1/models", "anthropic-version", "2023-06-01").body());
        assertEquals("model", anthropicModels.path("data").path(0).path("type").asText(), anthropicModels.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "malformed JSON        | /v1/chat/completions | {                                              | 400 | invalid_request",
            "missing messages      | /v1/chat/completions | {\"model\":\"m\"}                              | 400 | invalid_request",
            "fallbacks not a list  | /v1/chat/completions | {\"model\":\"m\",\"fallbacks\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | 400 | invalid_request",
            "unknown path          | /v2/nothing          | {}                                             | 404 | unknown_url",
            "anthropic: no max_tokens | /v1/messages      | {\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | 400 | invalid_request_error",
            "model with CR LF      | /v1/chat/completions | {\"model\":\"gpt-4o-mini\\r\\nx-evil: 1\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | 400 | invalid_request",
            "model with NUL        | /v1/chat/completions | {\"model\":\"gpt-4o-mini\\u0000\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | 400 | invalid_request",
            "anthropic: model with LF | /v1/messages      | {\"model\":\"claude\\n\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | 400 | invalid_request_error",
            "embeddings: model with CR | /v1/embeddings   | {\"model\":\"e\\r\",\"input\":\"x\"} | 400 | invalid_request",
    })
    void badInputGetsAClearErrorAndTheAgentStaysUp(String name, String path, String body, int status, String code) throws Exception {
        HttpResponse<String> r = h.post(path, body);
        assertEquals(status, r.statusCode(), r.body());
        JsonNode json = Json.parse(r.body());
        String actual = path.equals("/v1/messages") ? json.path("error").path("type").asText() : json.path("error").path("code").asText();
        assertEquals(code, actual);
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat "));
        assertEquals(0, h.simAttempts(), "bad input never reaches a provider");
        assertEquals(200, h.get("/health/live").statusCode());
    }

    /**
     * Regression: a model name holding a control character got HTTP 500 with an empty body after
     * the provider was called, and the agent failed over to the direct tier: a second billed call.
     */
    @Test
    void aTenThousandCharacterModelNameIsRefusedBeforeAnyProviderCall() throws Exception {
        HttpResponse<String> r = h.post("/v1/chat/completions", "{\"model\":\"" + "m".repeat(10_000)
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("model", Json.parse(r.body()).path("error").path("param").asText());
        assertEquals(0, h.simAttempts());
    }

    @Test
    void aBodyThatIsNotUtf8IsRefusedBeforeAnyProviderCall() throws Exception {
        byte[] prefix = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] suffix = "\"}]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.write(prefix);
        body.write(new byte[]{(byte) 0xC3, (byte) 0x28, (byte) 0xFF}); // an invalid UTF-8 sequence
        body.write(suffix);
        HttpResponse<String> r = h.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.base() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("invalid_request", Json.parse(r.body()).path("error").path("code").asText());
        assertEquals(0, h.simAttempts());
        assertEquals(200, h.get("/health/live").statusCode());
    }

    /**
     * Regression: /v1/moderations, /v1/audio/speech (any /v1/ call the agent does not model) answered
     * 404 from the agent. They pass through agent -> relay -> provider byte for byte, and move to the
     * standby once the primary is marked down.
     */
    @Test
    void callsTheAgentDoesNotModelPassThroughAndMoveOffARelayMarkedDown() throws Exception {
        String moderation = "{\"model\":\"omni-moderation-latest\",\"input\":\"hello\"}";
        HttpResponse<String> r = h.post("/v1/moderations", moderation);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("modr-sim", Json.parse(r.body()).path("id").asText());
        assertEquals("primary-1", r.headers().firstValue("x-understudy-upstream").orElseThrow());

        HttpResponse<byte[]> speech = h.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(h.base() + "/v1/audio/speech"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(20))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"tts-1\",\"input\":\"agent\",\"voice\":\"alloy\"}"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, speech.statusCode());
        org.junit.jupiter.api.Assertions.assertArrayEquals(io.understudy.sim.ProviderSim.speechBytes("agent"), speech.body());

        // a pass-through call is not idempotent: it leaves a relay that its probes marked down, or one that
        // refuses a new connection, never one whose pooled connection broke mid-call (ci60: that is a 502)
        h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
        h.awaitHealth("primary-1", "down");
        HttpResponse<String> moved = h.post("/v1/moderations", moderation);
        assertEquals(200, moved.statusCode(), moved.body());
        assertEquals("standby-1", moved.headers().firstValue("x-understudy-upstream").orElseThrow());
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        String big = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(9 * 1024 * 1024) + "\"}]}";
        HttpResponse<String> r = h.post("/v1/chat/completions", big);
        assertEquals(413, r.statusCode());
        assertTrue(r.body().contains("request_too_large"));
    }

    /** A Messages request with what the code does not model: it must reach an Anthropic provider as sent. */
    private static final String RICH_MESSAGES = """
            {"model":"claude-fidelity","max_tokens":300,%s
             "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
             "thinking":{"type":"enabled","budget_tokens":1024},
             "metadata":{"user_id":"u-42"},"stop_sequences":["END"],"top_k":5,"service_tier":"auto",
             "tools":[{"name":"lookup","description":"look up","input_schema":{"type":"object","properties":{"q":{"type":"string"}}},
                       "cache_control":{"type":"ephemeral"}},
                      {"type":"web_search_20250305","name":"web_search","max_uses":2}],
             "messages":[
               {"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"a fact"},
                                          "citations":{"enabled":true}},{"type":"text","text":"what does it say?"}]},
               {"role":"assistant","content":[{"type":"thinking","thinking":"check it","signature":"sig=="},
                                               {"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"fact"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"it is so"}],
                                          "cache_control":{"type":"ephemeral"}}]}]}
            """;

    private HttpResponse<byte[]> postDirect(String path, String body) throws Exception {
        return h.http.send(HttpRequest.newBuilder(URI.create(h.sim.baseUrl() + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> postAgent(String path, String body) throws Exception {
        return h.http.send(HttpRequest.newBuilder(URI.create(h.base() + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    /** The body digests the provider saw, in order: one per call it received. */
    private static List<String> digestsSeen() {
        return h.sim.attempts().list().stream().map(AttemptLog.Attempt::bodyDigest).toList();
    }

    /** A whole answer's JSON without its creation time: two calls a second apart differ only there. */
    private static JsonNode withoutTimestamp(byte[] body) throws Exception {
        JsonNode json = Json.parse(body);
        if (json instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            o.remove("created");
        }
        return json;
    }

    private static List<SseEvent> events(byte[] body) throws Exception {
        List<SseEvent> out = new ArrayList<>();
        try (SseReader reader = new SseReader(new ByteArrayInputStream(body))) {
            for (SseEvent e = reader.next(); e != null && out.size() < 10_000; e = reader.next()) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Regression: an Anthropic request was translated to chat at the agent and back at the relay;
     * the provider counted 70 input tokens on a direct call and 55 through the agent. Now client ->
     * agent -> relay -> Anthropic provider carries the request and the answer untranslated.
     */
    @Test
    void anAnthropicRequestReachesAnAnthropicProviderAsSentAndItsAnswerComesBackAsSent() throws Exception {
        String whole = RICH_MESSAGES.formatted("");
        HttpResponse<byte[]> direct = postDirect("/v1/messages", whole);
        HttpResponse<byte[]> through = postAgent("/v1/messages", whole);
        assertEquals(200, direct.statusCode(), new String(direct.body(), StandardCharsets.UTF_8));
        assertEquals(200, through.statusCode(), new String(through.body(), StandardCharsets.UTF_8));
        assertEquals("primary-1", through.headers().firstValue("x-understudy-upstream").orElseThrow());
        assertEquals(new String(direct.body(), StandardCharsets.UTF_8), new String(through.body(), StandardCharsets.UTF_8),
                "the answer is the provider's own bytes");
        List<String> seen = digestsSeen();
        assertEquals(2, seen.size(), h.sim.attempts().list().toString());
        assertEquals(seen.get(0), seen.get(1), "the provider got the same request both ways");

        h.reset();
        String streamed = RICH_MESSAGES.formatted("\"stream\":true,");
        List<SseEvent> directEvents = events(postDirect("/v1/messages", streamed).body());
        HttpResponse<byte[]> throughStream = postAgent("/v1/messages", streamed);
        assertEquals(200, throughStream.statusCode());
        assertEquals(directEvents, events(throughStream.body()), "every event as the provider sent it, and nothing else");
        assertEquals("message_stop", directEvents.get(directEvents.size() - 1).event());
        seen = digestsSeen();
        assertEquals(2, seen.size(), h.sim.attempts().list().toString());
        assertEquals(seen.get(0), seen.get(1), "the provider got the same streamed request both ways");
    }

    @Test
    void anOpenAiRequestReachesAnOpenAiProviderAsSentAndItsAnswerComesBackAsSent() throws Exception {
        String whole = """
                {"model":"gpt-4o-mini","logprobs":true,"top_logprobs":2,"seed":7,"reasoning_effort":"low",
                 "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},
                 "modalities":["text"],"user":"u-42","store":false,
                 "messages":[{"role":"developer","content":"terse"},{"role":"user","content":[{"type":"text","text":"hi"}]}]}
                """;
        HttpResponse<byte[]> direct = postDirect("/v1/chat/completions", whole);
        HttpResponse<byte[]> through = postAgent("/v1/chat/completions", whole);
        assertEquals(200, through.statusCode(), new String(through.body(), StandardCharsets.UTF_8));
        assertEquals(withoutTimestamp(direct.body()), withoutTimestamp(through.body()));
        List<String> seen = digestsSeen();
        assertEquals(2, seen.size(), h.sim.attempts().list().toString());
        assertEquals(seen.get(0), seen.get(1), "the provider got the same request both ways");
    }
}
