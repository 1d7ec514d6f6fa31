package io.understudy.core.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeaderValuesTest {
    @Test
    void plainModelNamesAreKeptAsTheyAre() {
        assertEquals("ft:gpt-4o-mini-2024-07-18:org:custom:abc", HeaderValues.safe("ft:gpt-4o-mini-2024-07-18:org:custom:abc"));
        assertEquals("anthropic/claude-3.5-sonnet", HeaderValues.safe("anthropic/claude-3.5-sonnet"));
    }

    @Test
    void controlCharactersAndNonAsciiArePercentEncoded() {
        assertEquals("a%0D%0Ab%00c", HeaderValues.safe("a\r\nb\u0000c"));
        assertEquals("mod%C3%A8le%25", HeaderValues.safe("modèle%"));
    }

    @Test
    void aHugeValueIsCut() {
        String safe = HeaderValues.safe("m".repeat(10_000));
        assertTrue(safe.length() <= HeaderValues.MAX_LENGTH + 3, "length " + safe.length());
    }
}
