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

    /** Longer model names are refused: the longest real ones (fine-tunes, routed names) are under 100. */
    public static final int MAX_MODEL_LENGTH = 256;

    /**
     * The model name: a non-empty string of at most {@link #MAX_MODEL_LENGTH} characters with no
     * control character. It is routed on, logged and echoed in headers, so a CR, LF or NUL in it is
     * refused here, before any provider is called (and billed).
     */
    public static String requireModel(ObjectNode body) {
        return checkModel(requireText(body, "model"));
    }

    /** The checks of {@link #requireModel} on a name already read. */
    public static String checkModel(String model) {
        if (model.length() > MAX_MODEL_LENGTH) {
            throw ChatRequest.invalid("model", "'model' is " + model.length() + " characters long; at most "
                    + MAX_MODEL_LENGTH + " are accepted");
        }
        for (int i = 0; i < model.length(); i++) {
            if (Character.isISOControl(model.charAt(i))) {
                throw ChatRequest.invalid("model", "'model' holds a control character (U+"
                        + String.format("%04X", (int) model.charAt(i)) + ") at position " + i);
            }
        }
        return model;
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
