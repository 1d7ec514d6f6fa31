package io.understudy.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.wire.WireChecks;

/** An Anthropic Messages API request, validated the way Anthropic's API validates it. */
public record MessagesRequest(ObjectNode body) {
    public MessagesRequest {
        WireChecks.requireModel(body);
        WireChecks.requirePositiveInt(body, "max_tokens");
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw invalid("messages", "'messages' must be a non-empty array");
        }
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String role = m.path("role").asText("");
            if (!m.isObject() || !(role.equals("user") || role.equals("assistant"))) {
                throw invalid("messages[" + i + "].role", "'role' must be 'user' or 'assistant'");
            }
            JsonNode content = m.get("content");
            if (content == null || !(content.isTextual() || content.isArray())) {
                throw invalid("messages[" + i + "].content", "'content' must be a string or an array of blocks");
            }
        }
        JsonNode system = body.get("system");
        if (system != null && !system.isNull() && !(system.isTextual() || system.isArray())) {
            throw invalid("system", "'system' must be a string or an array of text blocks");
        }
        WireChecks.optionalBoolean(body, "stream");
        WireChecks.optionalNumber(body, "temperature");
    }

    public static MessagesRequest parse(byte[] bytes) {
        return new MessagesRequest(WireChecks.parseObject(bytes));
    }

    public String model() {
        return body.get("model").asText();
    }

    public boolean stream() {
        return body.path("stream").asBoolean(false);
    }

    private static FailureException invalid(String param, String message) {
        return new FailureException(Failure.ClientError.invalid(param, message));
    }
}
