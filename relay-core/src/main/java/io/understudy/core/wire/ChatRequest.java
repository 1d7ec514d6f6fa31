package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;

import java.io.IOException;
import java.util.Set;

/**
 * An OpenAI Chat Completions request. The body is kept as a tree: fields this relay does
 * not understand reach the provider untouched. Construction validates what we rely on.
 */
public record ChatRequest(ObjectNode body, byte[] received) implements Conversation {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "function");

    public ChatRequest {
        validate(body);
    }

    /** A request built or changed here: it goes upstream encoded from its tree. */
    public ChatRequest(ObjectNode body) {
        this(body, null);
    }

    /** Parses and validates; every problem becomes a 400 {@link Failure.ClientError}. */
    public static ChatRequest parse(byte[] bytes) {
        return new ChatRequest(WireChecks.parseObject(bytes), bytes);
    }

    @Override
    public io.understudy.core.server.Api dialect() {
        return io.understudy.core.server.Api.OPENAI;
    }

    public boolean includeUsage() {
        return body.path("stream_options").path("include_usage").asBoolean(false);
    }

    @Override
    public ChatRequest withModel(String model) {
        if (model.equals(model())) {
            return this; // immutable in use: no copy on the common path
        }
        return JsonEdits.withModel(body, received, model, ChatRequest::new);
    }

    @Override
    public ChatRequest withStreamUsage() {
        if (!stream() || includeUsage()) {
            return this;
        }
        if (!body.has("stream_options")) {
            ObjectNode copy = body.objectNode();
            copy.setAll(body);
            copy.putObject("stream_options").put("include_usage", true);
            byte[] bytes = received == null ? null
                    : JsonEdits.addTopLevelField(received, "stream_options", "{\"include_usage\":true}").orElse(null);
            return new ChatRequest(copy, bytes);
        }
        ObjectNode copy = body.deepCopy();
        JsonNode options = copy.get("stream_options");
        ObjectNode streamOptions = options instanceof ObjectNode o ? o : copy.putObject("stream_options");
        streamOptions.put("include_usage", true);
        return new ChatRequest(copy);
    }

    @Override
    public ChatRequest withAssistantPrefill(String text) {
        ObjectNode copy = body.deepCopy();
        ((com.fasterxml.jackson.databind.node.ArrayNode) copy.get("messages")).addObject().put("role", "assistant").put("content", text);
        return new ChatRequest(copy);
    }

    private static void validate(ObjectNode body) {
        WireChecks.requireModel(body);
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw invalid("messages", "'messages' is required");
        }
        if (!messages.isArray()) {
            throw invalid("messages", "'messages' must be an array");
        }
        if (messages.isEmpty()) {
            throw invalid("messages", "'messages' must contain at least one message");
        }
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.isObject()) {
                throw invalid("messages[" + i + "]", "each message must be an object");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw invalid("messages[" + i + "].role", "'role' must be one of " + ROLES);
            }
        }
        WireChecks.optionalBoolean(body, "stream");
        WireChecks.optionalPositiveInt(body, "max_tokens");
        WireChecks.optionalPositiveInt(body, "max_completion_tokens");
        WireChecks.optionalNumber(body, "temperature");
        WireChecks.optionalNumber(body, "top_p");
        JsonNode options = body.get("stream_options");
        if (options != null && !options.isNull() && !options.isObject()) {
            throw invalid("stream_options", "'stream_options' must be an object");
        }
    }

    static FailureException invalid(String param, String message) {
        return new FailureException(Failure.ClientError.invalid(param, message));
    }

    /** Parsing helper shared by the request types. */
    static ObjectNode parseJsonObject(byte[] bytes) {
        try {
            JsonNode node = Json.parse(bytes);
            if (node == null || !node.isObject()) {
                throw invalid(null, "request body must be a JSON object");
            }
            return (ObjectNode) node;
        } catch (IOException e) {
            throw invalid(null, "request body is not valid JSON");
        }
    }
}
