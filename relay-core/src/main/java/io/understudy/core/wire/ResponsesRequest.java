package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.server.Api;

import java.util.Optional;

/**
 * An OpenAI Responses API request ({@code POST /v1/responses}), validated as far as we rely on
 * it; the rest of the body passes to a provider that serves the Responses API untouched.
 */
public record ResponsesRequest(ObjectNode body, byte[] received) implements Conversation {
    public ResponsesRequest {
        WireChecks.requireModel(body);
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw invalid("input", "'input' is required");
        }
        if (!(input.isTextual() || input.isArray()) || (input.isArray() && input.isEmpty())) {
            throw invalid("input", "'input' must be a string or a non-empty array of input items");
        }
        if (input.isArray()) {
            for (int i = 0; i < input.size(); i++) {
                if (!input.get(i).isObject()) {
                    throw invalid("input[" + i + "]", "each input item must be an object");
                }
            }
        }
        JsonNode instructions = body.get("instructions");
        if (instructions != null && !instructions.isNull() && !instructions.isTextual()) {
            throw invalid("instructions", "'instructions' must be a string");
        }
        WireChecks.optionalBoolean(body, "stream");
        WireChecks.optionalPositiveInt(body, "max_output_tokens");
        WireChecks.optionalNumber(body, "temperature");
        WireChecks.optionalNumber(body, "top_p");
    }

    /** A request built or changed here: it goes upstream encoded from its tree. */
    public ResponsesRequest(ObjectNode body) {
        this(body, null);
    }

    public static ResponsesRequest parse(byte[] bytes) {
        return new ResponsesRequest(WireChecks.parseObject(bytes), bytes);
    }

    @Override
    public Api dialect() {
        return Api.RESPONSES;
    }

    @Override
    public ResponsesRequest withModel(String model) {
        if (model.equals(model())) {
            return this;
        }
        return JsonEdits.withModel(body, received, model, ResponsesRequest::new);
    }

    /** response.completed always carries the usage: nothing to ask. */
    @Override
    public ResponsesRequest withStreamUsage() {
        return this;
    }

    @Override
    public ResponsesRequest withAssistantPrefill(String text) {
        ObjectNode copy = body.deepCopy();
        ArrayNode items;
        if (copy.get("input").isTextual()) {
            items = Json.array();
            items.addObject().put("role", "user").put("content", copy.get("input").asText());
            copy.set("input", items);
        } else {
            items = (ArrayNode) copy.get("input");
        }
        items.addObject().put("role", "assistant").put("content", text);
        return new ResponsesRequest(copy);
    }

    /**
     * The feature that needs the provider's own stored state, when the request uses one: it cannot
     * be served by translating to another API (previous responses, stored conversations, background
     * runs, references to stored items).
     */
    public Optional<String> statefulFeature() {
        if (body.hasNonNull("previous_response_id")) {
            return Optional.of("previous_response_id");
        }
        if (body.hasNonNull("conversation")) {
            return Optional.of("conversation");
        }
        if (body.path("store").asBoolean(false)) {
            return Optional.of("store");
        }
        if (body.path("background").asBoolean(false)) {
            return Optional.of("background");
        }
        for (JsonNode item : body.path("input")) {
            if ("item_reference".equals(item.path("type").asText())) {
                return Optional.of("item_reference");
            }
        }
        return Optional.empty();
    }

    private static FailureException invalid(String param, String message) {
        return new FailureException(Failure.ClientError.invalid(param, message));
    }
}
