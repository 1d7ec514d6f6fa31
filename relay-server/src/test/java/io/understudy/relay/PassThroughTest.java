package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Regression: POST /v1/moderations, /v1/audio/speech (and any other /v1/ call the relay does not
 * model) answered 404, so an app using them could not point its base_url here at all. They pass
 * through to the provider, over real sockets, byte for byte.
 */
class PassThroughTest {
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.standard();
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @BeforeEach
    void clear() {
        h.clearAttempts();
    }

    @Test
    void aJsonCallIsPassedToTheProviderOfItsModelsRoute() throws Exception {
        HttpResponse<String> r = h.post("/v1/moderations", "{\"model\":\"omni-moderation-latest\",\"input\":\"hello\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = Json.parse(r.body());
        assertEquals("modr-sim", body.path("id").asText());
        assertEquals("omni-moderation-latest", body.path("model").asText());
        assertEquals("sim", r.headers().firstValue("x-understudy-upstream").orElseThrow());
        assertEquals(1, h.simAttempts());
    }

    @Test
    void binaryAnswersComeBackByteForByte() throws Exception {
        HttpResponse<byte[]> r = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/audio/speech"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tts-1\",\"input\":\"say this\",\"voice\":\"alloy\"}"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertEquals("audio/mpeg", r.headers().firstValue("content-type").orElseThrow());
        assertArrayEquals(ProviderSim.speechBytes("say this"), r.body());
    }

    private static final String BOUNDARY = "understudy-test-boundary";

    /** A transcription upload naming {@code model}, with a 3,000-byte file. */
    private static byte[] upload(String model) throws Exception {
        return upload(model, 3000);
    }

    private static byte[] upload(String model, int fileBytes) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n--" + BOUNDARY
                + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        body.write(java.util.Arrays.copyOf(ProviderSim.speechBytes("an upload"), fileBytes));
        body.write(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return body.toByteArray();
    }

    private HttpResponse<String> transcribe(byte[] sent) throws Exception {
        return h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/audio/transcriptions"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(sent)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void aMultipartUploadReachesTheProviderUnchanged() throws Exception {
        byte[] sent = upload("whisper-1");
        HttpResponse<String> r = transcribe(sent);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode answer = Json.parse(r.body());
        assertEquals(sent.length, answer.path("bytes").asInt());
        assertEquals(sha256(sent), answer.path("sha256").asText());
        assertEquals("multipart/form-data; boundary=" + BOUNDARY, answer.path("content_type").asText());
    }

    /**
     * An upload streams up as it arrives: it is not held whole, so a file larger than the JSON body
     * limit (4 KiB in this harness; OpenAI takes 25 MB audio files) reaches the provider intact.
     */
    @Test
    void anUploadLargerThanTheJsonBodyLimitStreamsUpIntact() throws Exception {
        byte[] sent = upload("whisper-1", 300_000);
        HttpResponse<String> r = transcribe(sent);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(sent.length, Json.parse(r.body()).path("bytes").asInt());
        assertEquals(sha256(sent), Json.parse(r.body()).path("sha256").asText());
    }

    /** An upload names its model in a form field: routed by it, and renamed in it where the route says so. */
    @Test
    void aMultipartUploadIsRoutedByItsModelFieldAndRenamedThereOnly() throws Exception {
        // route fallback-*: the dead provider first (refuses), then sim asked for fallback-served
        HttpResponse<String> r = transcribe(upload("fallback-x"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("sim", r.headers().firstValue("x-understudy-upstream").orElseThrow());
        assertEquals(sha256(upload("fallback-served")), Json.parse(r.body()).path("sha256").asText(),
                "the provider got the upload with only its model field changed");
    }

    @Test
    void aRefusedProviderIsSkippedAndARouteThatRenamesTheModelRenamesIt() throws Exception {
        // route fallback-*: the dead provider first (refuses), then sim asked for fallback-served
        HttpResponse<String> r = h.post("/v1/moderations", "{\"model\":\"fallback-x\",\"input\":\"hello\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("fallback-served", Json.parse(r.body()).path("model").asText());
        assertEquals("sim", r.headers().firstValue("x-understudy-upstream").orElseThrow());
    }

    @Test
    void theProvidersErrorsArePassedOnAsTheyAre() throws Exception {
        HttpResponse<String> r = h.post("/v1/no-such-endpoint", "{\"model\":\"gpt-4o-mini\"}");
        assertEquals(404, r.statusCode());
        assertEquals("not_found", Json.parse(r.body()).path("error").path("code").asText(), r.body());
        assertEquals("sim", r.headers().firstValue("x-understudy-upstream").orElseThrow());
    }

    @Test
    void aModelWithAControlCharacterIsRefusedBeforeAnyProviderCall() throws Exception {
        HttpResponse<String> r = h.post("/v1/moderations", "{\"model\":\"m\\r\\nx\",\"input\":\"hello\"}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals(0, h.simAttempts());
    }
}
