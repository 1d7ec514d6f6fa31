package io.understudy.core.provider;

import io.understudy.core.wire.MessagesRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DialectsTest {
    @Test
    void aMessagesRequestGoesToAnAnthropicProviderAsItCame() {
        MessagesRequest request = MessagesRequest.parse("""
                {"model":"claude-x","max_tokens":50,"thinking":{"type":"enabled","budget_tokens":1024},
                 "system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
                 "messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"d"},"citations":{"enabled":true}}]}],
                 "tools":[{"type":"web_search_20250305","name":"web_search"}]}
                """.getBytes(StandardCharsets.UTF_8));
        byte[] received = request.received();
        assertEquals(new String(received, StandardCharsets.UTF_8),
                new String(Dialects.asMessagesBytes(request, "claude-x", "anthropic"), StandardCharsets.UTF_8),
                "the client's bytes, unchanged");
        String aimed = new String(Dialects.asMessagesBytes(request, "claude-y", "anthropic"), StandardCharsets.UTF_8);
        assertEquals(new String(received, StandardCharsets.UTF_8).replace("\"claude-x\"", "\"claude-y\""), aimed,
                "only the model changes");
        assertEquals("claude-x", request.model(), "the original is not changed");
    }
}
