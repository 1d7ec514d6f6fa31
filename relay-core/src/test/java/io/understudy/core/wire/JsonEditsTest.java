package io.understudy.core.wire;

import io.understudy.core.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonEditsTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Optional<byte[]> bytes) {
        return new String(bytes.orElseThrow(), StandardCharsets.UTF_8);
    }

    @Test
    void aModelIsReplacedWhereItStandsAndNothingElseMoves() {
        String body = "{ \"messages\" : [{\"role\":\"user\",\"content\":\"caf\\u00e9 \\\"model\\\"\",\"model\":\"inner\"}],\n"
                + "  \"model\"  :  \"gpt-4o\", \"temperature\": 1.50, \"n\":1e0 }";
        String edited = text(JsonEdits.replaceTopLevelString(utf8(body), "model", "openai/gpt-4o \"mini\" é"));
        assertEquals(body.replace("\"gpt-4o\"", "\"openai/gpt-4o \\\"mini\\\" é\""), edited,
                "the nested 'model' key, the escapes, the spacing and the number spellings stay as they were");
    }

    @Test
    void everyTopLevelCopyOfADuplicatedFieldIsReplaced() {
        String edited = text(JsonEdits.replaceTopLevelString(utf8("{\"model\":\"a\",\"x\":{},\"model\":\"b\"}"), "model", "c"));
        assertEquals("{\"model\":\"c\",\"x\":{},\"model\":\"c\"}", edited);
    }

    @Test
    void anEditThatCannotBeMadeOnTheBytesSaysSo() {
        assertTrue(JsonEdits.replaceTopLevelString(utf8("{\"model\":5}"), "model", "m").isEmpty(), "not a string");
        assertTrue(JsonEdits.replaceTopLevelString(utf8("{\"other\":\"x\"}"), "model", "m").isEmpty(), "absent");
        assertTrue(JsonEdits.replaceTopLevelString(utf8("[\"model\"]"), "model", "m").isEmpty(), "not an object");
        assertTrue(JsonEdits.replaceTopLevelString(utf8("{\"model\":\"a\""), "model", "m").isEmpty(), "cut short");
        assertTrue(JsonEdits.addTopLevelField(utf8(" {  } "), "a", "1").isEmpty(), "an empty object takes no comma");
        assertTrue(JsonEdits.addTopLevelField(utf8("[1]"), "a", "1").isEmpty(), "not an object");
    }

    @Test
    void aFieldIsAddedFirstAndTheRestStaysAsItCame() throws Exception {
        String body = "\n {\n \"model\": \"m\", \"stream\": true }";
        String edited = text(JsonEdits.addTopLevelField(utf8(body), "stream_options", "{\"include_usage\":true}"));
        assertEquals("\n {\"stream_options\":{\"include_usage\":true},\n \"model\": \"m\", \"stream\": true }", edited);
        assertTrue(Json.parse(edited).path("stream_options").path("include_usage").asBoolean());
    }
}
