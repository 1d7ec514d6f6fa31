package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.util.Optional;

/** Token usage of one answer, in OpenAI's terms. */
public record Usage(long promptTokens, long completionTokens) {
    public static final Usage ZERO = new Usage(0, 0);

    public Usage {
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts cannot be negative");
        }
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }

    /** Reads an OpenAI {@code usage} object; empty when absent or not an object. */
    public static Optional<Usage> fromOpenAi(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return Optional.empty();
        }
        return Optional.of(new Usage(Math.max(0, usage.path("prompt_tokens").asLong(0)),
                Math.max(0, usage.path("completion_tokens").asLong(0))));
    }

    /** Reads an Anthropic {@code usage} object (cache reads and writes count as input). */
    public static Optional<Usage> fromAnthropic(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return Optional.empty();
        }
        long input = usage.path("input_tokens").asLong(0)
                + usage.path("cache_creation_input_tokens").asLong(0)
                + usage.path("cache_read_input_tokens").asLong(0);
        return Optional.of(new Usage(Math.max(0, input), Math.max(0, usage.path("output_tokens").asLong(0))));
    }

    /** OpenAI Responses' usage block ({@code input_tokens}, {@code output_tokens}). */
    public static Optional<Usage> fromResponses(JsonNode usage) {
        if (usage == null || !usage.isObject() || !usage.has("input_tokens")) {
            return Optional.empty();
        }
        return Optional.of(new Usage(usage.path("input_tokens").asLong(), usage.path("output_tokens").asLong()));
    }

    public ObjectNode toResponses() {
        ObjectNode out = io.understudy.core.Json.object();
        out.put("input_tokens", promptTokens);
        out.putObject("input_tokens_details").put("cached_tokens", 0);
        out.put("output_tokens", completionTokens);
        out.putObject("output_tokens_details").put("reasoning_tokens", 0);
        out.put("total_tokens", totalTokens());
        return out;
    }

    public ObjectNode toOpenAi() {
        ObjectNode node = Json.object();
        node.put("prompt_tokens", promptTokens);
        node.put("completion_tokens", completionTokens);
        node.put("total_tokens", totalTokens());
        return node;
    }

    public ObjectNode toAnthropic() {
        ObjectNode node = Json.object();
        node.put("input_tokens", promptTokens);
        node.put("output_tokens", completionTokens);
        return node;
    }
}
