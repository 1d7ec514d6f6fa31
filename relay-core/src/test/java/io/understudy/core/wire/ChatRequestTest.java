package io.understudy.core.wire;

import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatRequestTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not json            | {oops                                                        | ",
            "array body          | []                                                           | ",
            "missing model       | {\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}      | model",
            "model not a string  | {\"model\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | model",
            "missing messages    | {\"model\":\"m\"}                                            | messages",
            "messages not array  | {\"model\":\"m\",\"messages\":\"hi\"}                        | messages",
            "empty messages      | {\"model\":\"m\",\"messages\":[]}                            | messages",
            "bad role            | {\"model\":\"m\",\"messages\":[{\"role\":\"robot\"}]}        | messages[0].role",
            "stream not boolean  | {\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | stream",
            "negative max_tokens | {\"model\":\"m\",\"max_tokens\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | max_tokens",
    })
    void rejectsBadRequestsNamingTheParameter(String name, String body, String param) {
        FailureException e = assertThrows(FailureException.class,
                () -> ChatRequest.parse(body.getBytes(StandardCharsets.UTF_8)));
        Failure.ClientError error = (Failure.ClientError) e.failure();
        assertEquals(400, error.status());
        assertEquals(param, error.param());
    }

    @Test
    void keepsUnknownFieldsAndRewritesOnlyTheModel() {
        ChatRequest request = ChatRequest.parse(("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"vendor_extension\":{\"x\":[1,2]},\"seed\":7}").getBytes(StandardCharsets.UTF_8));
        ChatRequest moved = request.withModel("b");
        assertEquals("b", moved.model());
        assertEquals("a", request.model(), "the original is not changed");
        assertEquals("{\"x\":[1,2]}", Json.text(moved.body().get("vendor_extension")));
        assertEquals(7, moved.body().get("seed").asInt());
    }

    @Test
    void streamUsageIsAddedOnlyForStreams() {
        ChatRequest plain = ChatRequest.parse("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_8));
        assertFalse(plain.withStreamUsage().body().has("stream_options"));
        ChatRequest stream = ChatRequest.parse("{\"model\":\"a\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_8));
        assertFalse(stream.includeUsage());
        assertTrue(stream.withStreamUsage().includeUsage());
    }

    /** The byte path: what a hop does not need to change reaches the upstream exactly as the client sent it. */
    @Test
    void aRequestGoesUpstreamByteForByte() throws Exception {
        String body = "{\"model\": \"m\", \"stream\": true, \"temperature\": 1.50,\n"
                + " \"messages\": [{\"role\": \"user\", \"content\": \"caf\\u00e9\"}]}";
        ChatRequest request = ChatRequest.parse(body.getBytes(StandardCharsets.UTF_8));
        assertEquals(body, new String(request.toBytes(), StandardCharsets.UTF_8), "as it came");
        assertEquals(body, new String(request.withModel("m").toBytes(), StandardCharsets.UTF_8), "the same model is no edit");

        ChatRequest aimed = request.withModel("other").withStreamUsage();
        String sent = new String(aimed.toBytes(), StandardCharsets.UTF_8);
        assertEquals("{\"stream_options\":{\"include_usage\":true}," + body.substring(1).replace("\"m\"", "\"other\""), sent,
                "the two edits a hop makes are made on the bytes");
        assertEquals(Json.parse(sent), aimed.body(), "the bytes and the tree agree");
        assertEquals("m", request.model(), "the original is not changed");
        assertFalse(request.body().has("stream_options"), "the original is not changed");

        ChatRequest prefilled = request.withAssistantPrefill("Hel");
        assertEquals(Json.parse(new String(prefilled.toBytes(), StandardCharsets.UTF_8)), prefilled.body(),
                "any other change is encoded from the tree");
        assertEquals(1, request.body().get("messages").size(), "a prefill copies the messages it adds to");
    }
}
