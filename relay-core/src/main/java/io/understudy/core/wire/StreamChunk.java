package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.util.Optional;

/**
 * One OpenAI chat-completion chunk. {@code data} is the exact text to send on: for a pass-through
 * stream it is what the upstream sent, byte for byte; {@code json} is its parsed form.
 */
public record StreamChunk(String data, ObjectNode json) {
    public static StreamChunk of(ObjectNode json) {
        return new StreamChunk(Json.text(json), json);
    }

    /** The usage block, present on the final chunk when include_usage was asked for. */
    public Optional<Usage> usage() {
        return Usage.fromOpenAi(json.get("usage"));
    }

    /** True for the usage-only chunk OpenAI sends last (no choices). */
    public boolean isUsageOnly() {
        JsonNode choices = json.get("choices");
        return json.hasNonNull("usage") && (choices == null || choices.isEmpty());
    }

    public Optional<String> finishReason() {
        JsonNode choices = json.get("choices");
        if (choices == null || !choices.isArray()) {
            return Optional.empty();
        }
        for (JsonNode c : choices) {
            JsonNode reason = c.get("finish_reason");
            if (reason != null && reason.isTextual()) {
                return Optional.of(reason.asText());
            }
        }
        return Optional.empty();
    }

    /** The text this chunk adds to the answer (choice 0), or "". */
    public String contentDelta() {
        JsonNode content = json.path("choices").path(0).path("delta").path("content");
        return content.isTextual() ? content.asText() : "";
    }
}
