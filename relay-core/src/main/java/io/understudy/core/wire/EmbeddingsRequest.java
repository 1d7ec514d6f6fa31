package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** An OpenAI embeddings request, kept as a tree like {@link ChatRequest}. */
public record EmbeddingsRequest(ObjectNode body) {
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

    public static EmbeddingsRequest parse(byte[] bytes) {
        return new EmbeddingsRequest(WireChecks.parseObject(bytes));
    }

    public String model() {
        return body.get("model").asText();
    }

    public EmbeddingsRequest withModel(String model) {
        if (model.equals(model())) {
            return this;
        }
        ObjectNode copy = body.deepCopy();
        copy.put("model", model);
        return new EmbeddingsRequest(copy);
    }

    public byte[] toBytes() {
        return Json.bytes(body);
    }
}
