package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;

/** An Anthropic Messages API request, validated the way Anthropic's API validates it. */
public record MessagesRequest(ObjectNode body, byte[] received) implements Conversation {
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

    /** A request built or changed here: it goes upstream encoded from its tree. */
    public MessagesRequest(ObjectNode body) {
        this(body, null);
    }

    public static MessagesRequest parse(byte[] bytes) {
        return new MessagesRequest(WireChecks.parseObject(bytes), bytes);
    }

    @Override
    public io.understudy.core.server.Api dialect() {
        return io.understudy.core.server.Api.ANTHROPIC;
    }

    @Override
    public MessagesRequest withModel(String model) {
        if (model.equals(model())) {
            return this;
        }
        return JsonEdits.withModel(body, received, model, MessagesRequest::new);
    }

    /** Anthropic streams always end with their usage: nothing to ask. */
    @Override
    public MessagesRequest withStreamUsage() {
        return this;
    }

    @Override
    public MessagesRequest withAssistantPrefill(String text) {
        ObjectNode copy = body.deepCopy();
        ((com.fasterxml.jackson.databind.node.ArrayNode) copy.get("messages")).addObject().put("role", "assistant").put("content", text);
        return new MessagesRequest(copy);
    }

    private static FailureException invalid(String param, String message) {
        return new FailureException(Failure.ClientError.invalid(param, message));
    }
}
