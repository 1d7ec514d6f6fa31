package io.understudy.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** provider-sim over real sockets: answers, determinism, every fault mode, the attempt log. */
class ProviderSimTest {
    private static ProviderSim sim;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws IOException {
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 8));
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    @BeforeEach
    void clearLog() throws Exception {
        send("DELETE", "/sim/attempts", null, Map.of());
    }

    private static String chatBody(String model, boolean stream, String content) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    }

    private static HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.baseUrl() + path)).timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        b.header("Content-Type", "application/json");
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String openAiText(HttpResponse<String> response) throws IOException {
        return Json.parse(response.body()).path("choices").path(0).path("message").path("content").asText();
    }

    /** Concatenated deltas of an OpenAI stream, plus whether [DONE] arrived. */
    private static String streamText(String body) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                sb.append(Json.parse(line.substring(6)).path("choices").path(0).path("delta").path("content").asText(""));
            }
        }
        return sb.toString();
    }

    @Test
    void sameConversationGivesSameTextInEveryApiAndMode() throws Exception {
        String plain = openAiText(send("POST", "/v1/chat/completions", chatBody("m1", false, "hello"), Map.of()));
        String otherModel = openAiText(send("POST", "/v1/chat/completions", chatBody("m2", false, "hello"), Map.of()));
        String streamed = streamText(send("POST", "/v1/chat/completions", chatBody("m1", true, "hello"), Map.of()).body());
        String other = openAiText(send("POST", "/v1/chat/completions", chatBody("m1", false, "bye"), Map.of()));
        HttpResponse<String> anthropic = send("POST", "/v1/messages",
                "{\"model\":\"c\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}", Map.of());
        assertEquals(8, plain.split(" ").length);
        assertEquals(plain, otherModel);
        assertEquals(plain, streamed);
        assertEquals(plain, Json.parse(anthropic.body()).path("content").path(0).path("text").asText());
        assertNotEquals(plain, other);
    }

    @Test
    void streamEndsWithUsageAndDone() throws Exception {
        String body = send("POST", "/v1/chat/completions", chatBody("m", true, "hi"), Map.of()).body();
        assertTrue(body.endsWith("data: [DONE]\n\n"));
        assertTrue(body.contains("\"finish_reason\":\"stop\""));
        assertTrue(body.contains("\"choices\":[],\"usage\":{\"prompt_tokens\""));
    }

    @Test
    void anthropicStreamHasEveryEventInOrder() throws Exception {
        String body = send("POST", "/v1/messages",
                "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", Map.of()).body();
        List<String> events = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("event: ") && !events.contains(line.substring(7))) {
                events.add(line.substring(7));
            }
        }
        assertEquals(List.of("message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop"), events);
    }

    @Test
    void prefillContinuesTheSameAnswer() throws Exception {
        String full = openAiText(send("POST", "/v1/chat/completions", chatBody("m", false, "tell"), Map.of()));
        String prefix = full.substring(0, full.indexOf(' ', full.indexOf(' ') + 1));
        String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"tell\"},"
                + "{\"role\":\"assistant\",\"content\":\"" + prefix + "\"}]}";
        String rest = openAiText(send("POST", "/v1/chat/completions", body, Map.of()));
        assertEquals(full, prefix + rest);
    }

    @ParameterizedTest(name = "{0} -> HTTP {1}")
    @CsvSource({
            "sim-429-retry-after, 429, 1",
            "sim-429, 429, ",
            "sim-503, 503, ",
            "sim-context-length, 400, ",
            "sim-content-policy, 400, "})
    void errorModesAnswerWithStatusAndShape(String model, int status, String retryAfter) throws Exception {
        HttpResponse<String> r = send("POST", "/v1/chat/completions", chatBody(model, false, "x"), Map.of());
        assertEquals(status, r.statusCode());
        assertEquals(retryAfter == null ? "" : retryAfter, r.headers().firstValue("Retry-After").orElse(""));
        assertTrue(Json.parse(r.body()).path("error").path("message").isTextual());
        HttpResponse<String> a = send("POST", "/v1/messages",
                "{\"model\":\"" + model + "\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", Map.of());
        assertEquals(status, a.statusCode());
        assertEquals("error", Json.parse(a.body()).path("type").asText(), "Anthropic error shape");
    }

    @Test
    void contextLengthAndContentPolicyCarryTheirCodes() throws Exception {
        assertEquals("context_length_exceeded", Json.parse(send("POST", "/v1/chat/completions",
                chatBody("sim-context-length", false, "x"), Map.of()).body()).path("error").path("code").asText());
        assertEquals("content_policy_violation", Json.parse(send("POST", "/v1/chat/completions",
                chatBody("x", false, "x"), Map.of("x-sim-fault", "content-policy")).body()).path("error").path("code").asText());
    }

    @Test
    void error500OnceThenHealthy() throws Exception {
        assertEquals(500, send("POST", "/v1/chat/completions", chatBody("sim-500-once", false, "once"), Map.of()).statusCode());
        assertEquals(200, send("POST", "/v1/chat/completions", chatBody("sim-500-once", false, "once"), Map.of()).statusCode());
    }

    @Test
    void prefillRejectedOnlyWhenThereIsAPrefill() throws Exception {
        assertEquals(200, send("POST", "/v1/chat/completions", chatBody("sim-prefill-rejected", false, "x"), Map.of()).statusCode());
        String body = "{\"model\":\"sim-prefill-rejected\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                + "{\"role\":\"assistant\",\"content\":\"The\"}]}";
        HttpResponse<String> r = send("POST", "/v1/chat/completions", body, Map.of());
        assertEquals(400, r.statusCode());
        assertEquals("prefill_not_supported", Json.parse(r.body()).path("error").path("code").asText());
    }

    @Test
    void resetClosesTheConnectionBeforeAnyHeader() {
        assertThrows(IOException.class, () -> send("POST", "/v1/chat/completions", chatBody("sim-reset", false, "x"), Map.of()));
    }

    @Test
    void blackholeAcceptsAndNeverAnswers() throws Exception {
        try (Socket socket = rawRequest(chatBody("sim-blackhole", false, "x"))) {
            socket.setSoTimeout(1500);
            assertThrows(java.net.SocketTimeoutException.class, () -> socket.getInputStream().read());
        }
    }

    @Test
    void cutStreamEndsWithoutTerminatingChunkOrDone() throws Exception {
        try (Socket socket = rawRequest(chatBody("sim-cut", true, "x"))) {
            socket.setSoTimeout(5000);
            String raw = new String(readUntilClosed(socket.getInputStream()), StandardCharsets.UTF_8);
            assertTrue(raw.startsWith("HTTP/1.1 200"));
            assertFalse(raw.contains("[DONE]"));
            assertFalse(raw.endsWith("0\r\n\r\n"), "no terminating chunk");
            assertEquals(3, raw.split("\"content\":\"[^\"]+\"").length - 1, "three tokens before the cut");
        }
    }

    @Test
    void stallStopsSendingButKeepsTheConnectionOpen() throws Exception {
        try (Socket socket = rawRequest(chatBody("sim-stall", true, "x"))) {
            socket.setSoTimeout(1500);
            InputStream in = socket.getInputStream();
            StringBuilder got = new StringBuilder();
            byte[] buf = new byte[4096];
            assertThrows(java.net.SocketTimeoutException.class, () -> {
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        throw new AssertionError("connection closed; a stall keeps it open");
                    }
                    got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            });
            assertTrue(got.toString().contains("\"content\":"), "some tokens came before the stall");
        }
    }

    @Test
    void malformedChunkAppearsMidStream() throws Exception {
        String body = send("POST", "/v1/chat/completions", chatBody("sim-malformed", true, "x"), Map.of()).body();
        long bad = body.lines().filter(l -> l.startsWith("data: ") && !l.equals("data: [DONE]")).filter(l -> {
            try {
                Json.parse(l.substring(6));
                return false;
            } catch (IOException e) {
                return true;
            }
        }).count();
        assertEquals(1, bad);
        assertTrue(body.endsWith("data: [DONE]\n\n"));
    }

    @Test
    void noDoneModeFinishesWithoutDone() throws Exception {
        String body = send("POST", "/v1/chat/completions", chatBody("sim-no-done", true, "x"), Map.of()).body();
        assertTrue(body.contains("\"finish_reason\":\"stop\""));
        assertFalse(body.contains("[DONE]"));
    }

    @Test
    void slowFirstTokenDelaysOnlyTheFirstToken() throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = send("POST", "/v1/chat/completions", chatBody("sim-slow-first-token", false, "x"),
                Map.of("x-sim-ttft-ms", "400"));
        assertEquals(200, r.statusCode());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 400);
    }

    @Test
    void unknownFaultHeaderIsAClearError() throws Exception {
        HttpResponse<String> r = send("POST", "/v1/chat/completions", chatBody("m", false, "x"), Map.of("x-sim-fault", "gremlins"));
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("gremlins"));
    }

    @Test
    void embeddingsAndModels() throws Exception {
        HttpResponse<String> r = send("POST", "/v1/embeddings", "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"dimensions\":4}", Map.of());
        JsonNode json = Json.parse(r.body());
        assertEquals(2, json.path("data").size());
        assertEquals(4, json.path("data").path(0).path("embedding").size());
        JsonNode models = Json.parse(send("GET", "/v1/models", null, Map.of()).body());
        assertTrue(models.path("data").toString().contains("sim-429-retry-after"));
    }

    @Test
    void attemptLogRecordsEveryRequestWithTag() throws Exception {
        send("POST", "/v1/chat/completions", chatBody("sim-503", false, "x"), Map.of("x-sim-tag", "t1"));
        send("POST", "/v1/chat/completions", chatBody("ok", true, "x"), Map.of("x-sim-tag", "t2"));
        JsonNode log = Json.parse(send("GET", "/sim/attempts", null, Map.of()).body()).path("attempts");
        assertEquals(2, log.size());
        assertEquals("503", log.path(0).path("mode").asText());
        assertEquals("503", log.path(0).path("outcome").asText());
        assertEquals("t1", log.path(0).path("tag").asText());
        assertTrue(log.path(1).path("stream").asBoolean());
        assertTrue(log.path(1).path("time_ms").asLong() >= log.path(0).path("time_ms").asLong());
    }

    @Test
    void badInputIsAClearErrorAndTheServerStaysUp() throws Exception {
        assertEquals(400, send("POST", "/v1/chat/completions", "{nope", Map.of()).statusCode());
        assertEquals(404, send("GET", "/v1/unknown", null, Map.of()).statusCode());
        try (Socket socket = new Socket("127.0.0.1", sim.port())) {
            socket.getOutputStream().write("GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(readUntilClosed(socket.getInputStream()), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"));
        }
        assertEquals(200, send("GET", "/health", null, Map.of()).statusCode());
    }

    private static Socket rawRequest(String body) throws IOException {
        Socket socket = new Socket("127.0.0.1", sim.port());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        return socket;
    }

    private static byte[] readUntilClosed(InputStream in) throws IOException {
        try {
            return in.readAllBytes();
        } catch (SocketException reset) {
            return new byte[0];
        }
    }

    @Test
    void aStormConfinedToSomeModelsLeavesTheOthersAnswering() throws Exception {
        assertEquals(200, send("PUT", "/sim/storm", "{\"mode\":\"429\",\"every\":1,\"models\":\"limited-\"}", Map.of()).statusCode());
        try {
            for (int i = 0; i < 3; i++) {
                assertEquals(429, send("POST", "/v1/chat/completions", chatBody("limited-" + i, false, "storm"), Map.of()).statusCode());
                assertEquals(200, send("POST", "/v1/chat/completions", chatBody("steady", false, "storm"), Map.of()).statusCode());
            }
        } finally {
            send("DELETE", "/sim/storm", null, Map.of());
        }
        assertEquals(200, send("POST", "/v1/chat/completions", chatBody("limited-9", false, "storm"), Map.of()).statusCode());
    }
}
