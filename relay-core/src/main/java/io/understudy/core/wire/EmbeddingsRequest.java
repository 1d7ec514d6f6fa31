package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** An OpenAI embeddings request, kept as a tree like {@link ChatRequest}. */
/** {@code received}: as in {@link Conversation#received()}. */
public record EmbeddingsRequest(ObjectNode body, byte[] received) {
    public EmbeddingsRequest {
        WireChecks.requireModel(body);
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw ChatRequest.invalid("input", "'input' is required");
        }
        if (!(input.isTextual() || input.isArray())) {
            throw ChatRequest.invalid("input", "'input' must be a string or an array");
        }
        if (input.isArray() && input.isEmpty()) {
            throw ChatRequest.invalid("input", "'input' must not be empty");
        }
    }

    public EmbeddingsRequest(ObjectNode body) {
        this(body, null);
    }

    public static EmbeddingsRequest parse(byte[] bytes) {
        return new EmbeddingsRequest(WireChecks.parseObject(bytes), bytes);
    }

    public String model() {
        return body.get("model").asText();
    }

    public EmbeddingsRequest withModel(String model) {
        if (model.equals(model())) {
            return this;
        }
        return JsonEdits.withModel(body, received, model, EmbeddingsRequest::new);
    }

    public byte[] toBytes() {
        return received != null ? received : Json.bytes(body);
    }
}
