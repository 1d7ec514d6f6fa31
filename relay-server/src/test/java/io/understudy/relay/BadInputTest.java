package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad input gets the right status and an API-shaped error; the relay stays up. */
class BadInputTest {
    private static final String KEY = "client-key-for-tests";
    private static final String YAML = """
            server: { host: 127.0.0.1, port: 0 }
            relay:
              max-body-size: 4096
              client-keys: [ "%s" ]
            providers:
              - { name: sim, kind: openai, base-url: "${SIM}/v1" }
            routes:
              - model: gpt-4o-mini
                targets: [ { provider: sim } ]
              - model: text-embedding-3-small
                targets: [ { provider: sim } ]
            """.formatted(KEY);
    private static final String OK_CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String OK_MESSAGES = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static RelayHarness h;

    /** One row: what is sent, and what must come back (OpenAI error code, or Anthropic error type). */
    record Row(String name, String method, String path, String contentType, String body, String auth, int status,
               String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Row> rows() {
        String bearer = "Bearer " + KEY;
        String big = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(5000) + "\"}]}";
        return List.of(
                new Row("malformed JSON", "POST", "/v1/chat/completions", "application/json", "{\"model\":", bearer, 400, "invalid_request"),
                new Row("empty body", "POST", "/v1/chat/completions", "application/json", "", bearer, 400, "invalid_request"),
                new Row("body is an array", "POST", "/v1/chat/completions", "application/json", "[1,2]", bearer, 400, "invalid_request"),
                new Row("model has wrong type", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("\"gpt-4o-mini\"", "42"), bearer, 400, "invalid_request"),
                new Row("messages missing", "POST", "/v1/chat/completions", "application/json", "{\"model\":\"gpt-4o-mini\"}", bearer, 400, "invalid_request"),
                new Row("messages wrong type", "POST", "/v1/chat/completions", "application/json",
                        "{\"model\":\"gpt-4o-mini\",\"messages\":{}}", bearer, 400, "invalid_request"),
                new Row("temperature wrong type", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("{\"model\"", "{\"temperature\":\"hot\",\"model\""), bearer, 400, "invalid_request"),
                new Row("model with CR LF", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("gpt-4o-mini", "gpt-4o-mini\\r\\nx-evil: 1"), bearer, 400, "invalid_request"),
                new Row("model with NUL", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("gpt-4o-mini", "gpt-4o-mini\\u0000"), bearer, 400, "invalid_request"),
                new Row("model 1,000 characters long", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("gpt-4o-mini", "m".repeat(1000)), bearer, 400, "invalid_request"),
                new Row("anthropic: model with LF", "POST", "/v1/messages", "application/json",
                        OK_MESSAGES.replace("gpt-4o-mini", "gpt-4o-mini\\n"), bearer, 400, "invalid_request_error"),
                new Row("unknown model", "POST", "/v1/chat/completions", "application/json",
                        OK_CHAT.replace("gpt-4o-mini", "no-such-model"), bearer, 404, "model_not_found"),
                new Row("body over the limit", "POST", "/v1/chat/completions", "application/json", big, bearer, 413, "request_too_large"),
                new Row("wrong content type", "POST", "/v1/chat/completions", "text/plain", OK_CHAT, bearer, 415, "unsupported_media_type"),
                new Row("missing key", "POST", "/v1/chat/completions", "application/json", OK_CHAT, null, 401, "invalid_api_key"),
                new Row("wrong key", "POST", "/v1/chat/completions", "application/json", OK_CHAT, "Bearer nope", 401, "invalid_api_key"),
                new Row("embeddings without input", "POST", "/v1/embeddings", "application/json",
                        "{\"model\":\"text-embedding-3-small\"}", bearer, 400, "invalid_request"),
                new Row("models without key", "GET", "/v1/models", null, null, null, 401, "invalid_api_key"),
                new Row("unknown path outside /v1/", "GET", "/v2/nothing-here", null, null, bearer, 404, "unknown_url"),
                new Row("unknown /v1/ path: the provider's own 404, passed through", "GET", "/v1/nothing-here", null, null, bearer, 404, "not_found"),
                new Row("wrong method", "GET", "/v1/chat/completions", null, null, bearer, 405, "method_not_allowed"),
                new Row("anthropic: malformed JSON", "POST", "/v1/messages", "application/json", "{", bearer, 400, "invalid_request_error"),
                new Row("anthropic: max_tokens missing", "POST", "/v1/messages", "application/json",
                        OK_MESSAGES.replace("\"max_tokens\":10,", ""), bearer, 400, "invalid_request_error"),
                new Row("anthropic: bad role", "POST", "/v1/messages", "application/json",
                        OK_MESSAGES.replace("\"user\"", "\"system\""), bearer, 400, "invalid_request_error"),
                new Row("anthropic: unknown model", "POST", "/v1/messages", "application/json",
                        OK_MESSAGES.replace("gpt-4o-mini", "nope"), bearer, 404, "not_found_error"),
                new Row("anthropic: body over the limit", "POST", "/v1/messages", "application/json",
                        big.replace("{\"model\"", "{\"max_tokens\":5,\"model\""), bearer, 413, "request_too_large"),
                new Row("anthropic: wrong key via x-api-key", "POST", "/v1/messages", "application/json", OK_MESSAGES,
                        "x-api-key:nope", 401, "authentication_error"));
    }

    @BeforeAll
    static void start() throws Exception {
        h = new RelayHarness(YAML, Map.of(), SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4));
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void badInputGetsAClearApiShapedError(Row row) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(h.base() + row.path())).timeout(Duration.ofSeconds(10))
                .method(row.method(), row.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(row.body()));
        if (row.contentType() != null) {
            b.header("Content-Type", row.contentType());
        }
        if (row.auth() != null) {
            if (row.auth().startsWith("x-api-key:")) {
                b.header("x-api-key", row.auth().substring("x-api-key:".length()));
            } else {
                b.header("Authorization", row.auth());
            }
        }
        HttpResponse<String> r = h.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(row.status(), r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode body = Json.parse(r.body());
        if (row.path().startsWith("/v1/messages")) {
            assertEquals("error", body.path("type").asText());
            assertEquals(row.expected(), body.path("error").path("type").asText());
        } else {
            assertEquals(row.expected(), body.path("error").path("code").asText());
            assertTrue(body.path("error").path("type").isTextual());
        }
        assertFalse(body.path("error").path("message").asText().isBlank());
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat ") || r.body().contains(KEY),
                "no stack traces or keys in errors: " + r.body());
    }

    @Test
    void theRelayStillServesAfterEveryBadRow() throws Exception {
        for (Row row : rows()) {
            badInputGetsAClearApiShapedError(row);
        }
        assertEquals(200, h.get("/health/live").statusCode());
        assertEquals(200, h.post("/v1/chat/completions", OK_CHAT, "Authorization", "Bearer " + KEY).statusCode());
        assertEquals(200, h.post("/v1/messages", OK_MESSAGES, "x-api-key", KEY).statusCode());
    }
}
