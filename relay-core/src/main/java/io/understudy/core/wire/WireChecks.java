package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Field checks shared by the request types; each failure names the offending parameter. */
public final class WireChecks {
    private WireChecks() {
    }

    public static ObjectNode parseObject(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw ChatRequest.invalid(null, "request body is empty; expected a JSON object");
        }
        return ChatRequest.parseJsonObject(bytes);
    }

    public static String requireText(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            throw ChatRequest.invalid(field, "'" + field + "' is required");
        }
        if (!node.isTextual() || node.asText().isBlank()) {
            throw ChatRequest.invalid(field, "'" + field + "' must be a non-empty string");
        }
        return node.asText();
    }

    public static void optionalBoolean(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node != null && !node.isNull() && !node.isBoolean()) {
            throw ChatRequest.invalid(field, "'" + field + "' must be a boolean");
        }
    }

    public static void optionalNumber(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node != null && !node.isNull() && !node.isNumber()) {
            throw ChatRequest.invalid(field, "'" + field + "' must be a number");
        }
    }

    public static void optionalPositiveInt(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node != null && !node.isNull() && (!node.isIntegralNumber() || node.asLong() < 1)) {
            throw ChatRequest.invalid(field, "'" + field + "' must be a positive integer");
        }
    }

    public static int requirePositiveInt(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            throw ChatRequest.invalid(field, "'" + field + "' is required");
        }
        optionalPositiveInt(body, field);
        return node.asInt();
    }
}
