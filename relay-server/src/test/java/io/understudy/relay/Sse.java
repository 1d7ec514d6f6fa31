package io.understudy.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Test helpers to read a whole SSE body. */
final class Sse {
    private Sse() {
    }

    static List<String> dataLines(String body) {
        List<String> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: ")) {
                out.add(line.substring(6));
            }
        }
        return out;
    }

    /** The concatenated content deltas of an OpenAI stream. */
    static String openAiText(String body) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String data : dataLines(body)) {
            if (!data.equals("[DONE]")) {
                sb.append(Json.parse(data).path("choices").path(0).path("delta").path("content").asText(""));
            }
        }
        return sb.toString();
    }

    /** The concatenated text deltas of an Anthropic stream. */
    static String anthropicText(String body) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String data : dataLines(body)) {
            JsonNode event = Json.parse(data);
            if ("content_block_delta".equals(event.path("type").asText())) {
                sb.append(event.path("delta").path("text").asText(""));
            }
        }
        return sb.toString();
    }
}
