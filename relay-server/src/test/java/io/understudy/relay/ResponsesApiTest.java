package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import io.understudy.core.Json;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseReader;
import io.understudy.sim.AttemptLog;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/responses} at the relay: passed as it is to a provider that serves the Responses
 * API, translated (its stateless part) for one that does not (chat only, or Anthropic), streamed
 * and not, through the official OpenAI SDK and over raw HTTP.
 */
class ResponsesApiTest {
    private static RelayHarness h;
    private static OpenAIClient sdk;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.standard();
        sdk = OpenAIOkHttpClient.builder().baseUrl(h.base() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
    }

    @AfterAll
    static void stop() {
        sdk.close();
        h.close();
    }

    @BeforeEach
    void clear() {
        h.sim.attempts().clear();
    }

    private static String expectedText() throws Exception {
        HttpResponse<String> r = h.http.send(HttpRequest.newBuilder(URI.create(h.sim.baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hello responses\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    private static String text(Response response) {
        StringBuilder sb = new StringBuilder();
        response.output().forEach(item -> item.message().ifPresent(m -> m.content().forEach(
                c -> c.outputText().ifPresent(t -> sb.append(t.text())))));
        return sb.toString();
    }

    private static ResponseCreateParams params(String model) {
        return ResponseCreateParams.builder().model(model).input("hello responses").build();
    }

    /** gpt-*: native at the provider; chatonly-*: a provider without the Responses API; claude-*: Anthropic. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt-4o-mini", "chatonly-small", "claude-sonnet-4-5"})
    void theSdkGetsTheSameAnswerWholeAndStreamedWhateverTheProviderSpeaks(String model) throws Exception {
        String expected = expectedText();
        Response whole = sdk.responses().create(params(model));
        assertEquals(expected, text(whole));
        assertTrue(whole.usage().orElseThrow().outputTokens() > 0);
        StringBuilder streamed = new StringBuilder();
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = sdk.responses().createStreaming(params(model))) {
            stream.stream().forEach(e -> {
                events.add(e);
                e.outputTextDelta().ifPresent(d -> streamed.append(d.delta()));
            });
        }
        assertEquals(expected, streamed.toString());
        assertTrue(events.get(0).isCreated(), "starts with response.created");
        assertTrue(events.get(events.size() - 1).isCompleted(), "ends with response.completed");
        assertEquals(expected, text(events.get(events.size() - 1).completed().orElseThrow().response()));
    }

    private HttpResponse<byte[]> post(String base, String body) throws Exception {
        return h.http.send(HttpRequest.newBuilder(URI.create(base + "/v1/responses")).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void aProviderThatServesTheResponsesApiGetsTheRequestAsSentAndItsAnswerComesBackAsSent() throws Exception {
        String body = """
                {"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_text","text":"hello responses"}]}],
                 "reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"],"store":false,
                 "tools":[{"type":"web_search"}],"previous_response_id":"resp_earlier","truncation":"auto"}
                """;
        HttpResponse<byte[]> direct = post(h.sim.baseUrl(), body);
        HttpResponse<byte[]> through = post(h.base(), body);
        assertEquals(200, through.statusCode(), new String(through.body(), StandardCharsets.UTF_8));
        ObjectNode a = (ObjectNode) Json.parse(direct.body());
        ObjectNode b = (ObjectNode) Json.parse(through.body());
        a.remove("created_at");
        b.remove("created_at");
        assertEquals(a, b, "the provider's own answer");
        List<String> digests = h.sim.attempts().list().stream().map(AttemptLog.Attempt::bodyDigest).toList();
        assertEquals(2, digests.size(), digests.toString());
        assertEquals(digests.get(0), digests.get(1), "the provider got the same request, stateful fields included");
    }

    @Test
    void aStatefulRequestForAProviderWithoutTheResponsesApiIsA400NamingTheFeature() throws Exception {
        HttpResponse<byte[]> r = post(h.base(), "{\"model\":\"claude-sonnet-4-5\",\"input\":\"x\",\"previous_response_id\":\"resp_1\"}");
        assertEquals(400, r.statusCode());
        JsonNode error = Json.parse(r.body()).path("error");
        assertEquals("previous_response_id", error.path("param").asText());
        assertTrue(error.path("message").asText().contains("previous_response_id"), error.toString());
        assertEquals(0, h.sim.attempts().list().size(), "refused before any provider call");
    }

    @Test
    void aStreamCutAfterItsFirstByteEndsWithResponseFailedNeverACompleteLookingStream() throws Exception {
        HttpResponse<byte[]> r = post(h.base(), "{\"model\":\"sim-cut\",\"stream\":true,\"input\":\"cut me\"}");
        assertEquals(200, r.statusCode());
        List<SseEvent> events = new ArrayList<>();
        try (SseReader reader = new SseReader(new ByteArrayInputStream(r.body()))) {
            for (SseEvent e = reader.next(); e != null && events.size() < 1_000; e = reader.next()) {
                events.add(e);
            }
        }
        assertEquals("response.created", events.get(0).event());
        assertEquals("response.failed", events.get(events.size() - 1).event(), events.toString());
        assertFalse(events.stream().anyMatch(e -> "response.completed".equals(e.event())));
    }
}
