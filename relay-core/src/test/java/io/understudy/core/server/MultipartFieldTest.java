package io.understudy.core.server;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MultipartFieldTest {
    private static final String BODY = "--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model\"\r\n\r\nRIFF...model...\r\n"
            + "--b1\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--b1--\r\n";

    @Test
    void theModelFieldIsFoundAndReplacedAndNothingElseChanges() {
        byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
        MultipartField field = MultipartField.find(body, "multipart/form-data; boundary=\"b1\"", "model").orElseThrow();
        assertEquals("whisper-1", field.value(body), "the file part, though its filename is 'model', is not the field");
        byte[] renamed = field.replaced(body, "whisper-large");
        assertEquals(BODY.replace("\r\n\r\nwhisper-1\r\n", "\r\n\r\nwhisper-large\r\n"), new String(renamed, StandardCharsets.UTF_8));
    }

    @Test
    void noFieldNoBoundaryOrACutBodyFindNothing() {
        byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
        assertEquals(Optional.empty(), MultipartField.find(body, "multipart/form-data; boundary=b1", "language"));
        assertEquals(Optional.empty(), MultipartField.find(body, "multipart/form-data", "model"));
        assertEquals(Optional.empty(), MultipartField.find(body, "application/json", "model"));
        byte[] cut = java.util.Arrays.copyOf(body, body.length - 12);
        assertTrue(MultipartField.find(cut, "multipart/form-data; boundary=b1", "model").isEmpty());
    }
}
