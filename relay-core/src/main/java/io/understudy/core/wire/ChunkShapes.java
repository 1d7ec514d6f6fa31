package io.understudy.core.wire;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** Chat-completion chunk JSON as the stream readers of other dialects build it: one shape, one place. */
public final class ChunkShapes {
    private ChunkShapes() {
    }

    /** A chunk with no choices: what a carrier or a usage-only chunk starts from. */
    public static ObjectNode base(String id, long created, String model) {
        ObjectNode chunk = Json.object();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", created);
        chunk.put("model", model);
        return chunk;
    }

    /** A chunk with one choice: its delta, and its finish reason or null. */
    public static ObjectNode choice(String id, long created, String model, ObjectNode delta, String finishReason) {
        ObjectNode chunk = base(id, created, model);
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("delta", delta);
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return chunk;
    }

    /** A delta carrying one tool call (or a piece of its arguments). */
    public static ObjectNode toolDelta(ObjectNode call) {
        ObjectNode delta = Json.object();
        delta.putArray("tool_calls").add(call);
        return delta;
    }
}
