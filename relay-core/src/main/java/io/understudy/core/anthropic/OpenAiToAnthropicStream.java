package io.understudy.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The event stream a client of {@code /v1/messages} receives. A chunk read from an Anthropic stream
 * is sent as the event it came from; any other chunk (from an OpenAI-shaped upstream, or the tail of
 * a stream resumed elsewhere) is translated, fitted onto what was already sent: the same message,
 * the text block still open. Call {@link #accept} per chunk and {@link #finish} once at the end.
 */
public final class OpenAiToAnthropicStream {
    private final String requestedModel;
    private final Map<Integer, Integer> blockByToolIndex = new HashMap<>();
    private boolean started;
    private int openBlock = -1;
    private boolean openBlockIsText;
    private int nextBlock;
    private String stopReason;
    private Usage usage = Usage.ZERO;
    /** The upstream's own message_delta (stop reason, usage) was sent on. */
    private boolean deltaSent;
    private boolean stopSent;

    public OpenAiToAnthropicStream(String requestedModel) {
        this.requestedModel = requestedModel;
    }

    public List<SseEvent> accept(StreamChunk chunk) {
        var own = chunk.eventFor(io.understudy.core.server.Api.ANTHROPIC);
        if (own.isPresent()) {
            return passOn(own.get().event(), own.get().data());
        }
        List<SseEvent> out = new ArrayList<>(3);
        JsonNode json = chunk.json();
        start(json, out);
        chunk.usage().ifPresent(u -> usage = u);
        JsonNode choice = json.path("choices").path(0);
        JsonNode delta = choice.path("delta");
        String text = delta.path("content").isTextual() ? delta.path("content").asText() : "";
        if (!text.isEmpty()) {
            if (openBlock < 0 || !openBlockIsText) {
                closeBlock(out);
                openBlock = nextBlock++;
                openBlockIsText = true;
                ObjectNode block = Json.object().put("type", "text").put("text", "");
                out.add(event("content_block_start", Json.object().put("index", openBlock).set("content_block", block)));
            }
            ObjectNode d = Json.object().put("type", "text_delta").put("text", text);
            out.add(event("content_block_delta", Json.object().put("index", openBlock).set("delta", d)));
        }
        for (JsonNode call : delta.path("tool_calls")) {
            int toolIndex = call.path("index").asInt(0);
            Integer block = blockByToolIndex.get(toolIndex);
            if (block == null) {
                closeBlock(out);
                block = nextBlock++;
                blockByToolIndex.put(toolIndex, block);
                openBlock = block;
                openBlockIsText = false;
                ObjectNode start = Json.object().put("type", "tool_use")
                        .put("id", call.path("id").asText("toolu_" + toolIndex))
                        .put("name", call.path("function").path("name").asText(""));
                start.putObject("input");
                out.add(event("content_block_start", Json.object().put("index", block).set("content_block", start)));
            }
            String args = call.path("function").path("arguments").asText("");
            if (!args.isEmpty()) {
                ObjectNode d = Json.object().put("type", "input_json_delta").put("partial_json", args);
                out.add(event("content_block_delta", Json.object().put("index", block).set("delta", d)));
            }
        }
        JsonNode finish = choice.get("finish_reason");
        if (finish != null && finish.isTextual()) {
            stopReason = AnthropicTranslation.toAnthropicStop(finish.asText());
        }
        return out;
    }

    /** An upstream event sent as it came; what it opens or closes is remembered, for a translated tail. */
    private List<SseEvent> passOn(SseEvent event, JsonNode data) {
        switch (event.event() == null ? "" : event.event()) {
            case "message_start" -> started = true;
            case "content_block_start" -> {
                openBlock = data.path("index").asInt(nextBlock);
                openBlockIsText = "text".equals(data.path("content_block").path("type").asText());
                nextBlock = Math.max(nextBlock, openBlock + 1);
            }
            case "content_block_stop" -> openBlock = -1;
            case "message_delta" -> deltaSent = true;
            case "message_stop" -> stopSent = true;
            default -> {
                // deltas and pings change nothing a tail needs
            }
        }
        return List.of(event);
    }

    /**
     * The closing events still owed: block stop, message_delta with stop reason and usage,
     * message_stop; only those the upstream did not send itself.
     */
    public List<SseEvent> finish() {
        if (stopSent) {
            return List.of();
        }
        if (deltaSent) {
            stopSent = true;
            return List.of(event("message_stop", Json.object().put("type", "message_stop")));
        }
        List<SseEvent> out = new ArrayList<>(3);
        start(Json.object(), out);
        closeBlock(out);
        ObjectNode delta = Json.object();
        delta.put("stop_reason", stopReason == null ? "end_turn" : stopReason);
        delta.putNull("stop_sequence");
        ObjectNode messageDelta = Json.object().put("type", "message_delta");
        messageDelta.set("delta", delta);
        messageDelta.set("usage", usage.toAnthropic());
        out.add(event("message_delta", messageDelta));
        out.add(event("message_stop", Json.object().put("type", "message_stop")));
        stopSent = true;
        return out;
    }

    private void start(JsonNode chunk, List<SseEvent> out) {
        if (started) {
            return;
        }
        started = true;
        ObjectNode message = Json.object();
        message.put("id", AnthropicTranslation.anthropicId(chunk.path("id").asText("")));
        message.put("type", "message");
        message.put("role", "assistant");
        message.put("model", chunk.path("model").asText(requestedModel));
        message.putArray("content");
        message.putNull("stop_reason");
        message.putNull("stop_sequence");
        message.set("usage", Usage.ZERO.toAnthropic());
        out.add(event("message_start", Json.object().put("type", "message_start").set("message", message)));
    }

    private void closeBlock(List<SseEvent> out) {
        if (openBlock >= 0) {
            out.add(event("content_block_stop", Json.object().put("type", "content_block_stop").put("index", openBlock)));
            openBlock = -1;
        }
    }

    private static SseEvent event(String name, ObjectNode data) {
        if (!data.has("type")) {
            ObjectNode withType = Json.object().put("type", name);
            withType.setAll(data);
            data = withType;
        }
        return SseEvent.named(name, Json.text(data));
    }
}
