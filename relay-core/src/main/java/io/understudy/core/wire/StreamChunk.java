package io.understudy.core.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.server.Api;
import io.understudy.core.sse.SseEvent;

import java.util.Optional;

/**
 * One chunk of a chat stream, seen in OpenAI's chunk shape. {@code data} is the exact text to send
 * a chat client: for a pass-through stream it is what the upstream sent, byte for byte; {@code
 * json} is its parsed form. A chunk read from an Anthropic or Responses stream also keeps the event
 * it came from ({@code upstreamEvent}), sent on as it came to a client of that same API: one
 * upstream event is one chunk, and an event that means nothing in chat's shape (a ping, a thinking
 * delta) is a {@link #isCarrier carrier} that chat clients never see.
 */
public record StreamChunk(String data, ObjectNode json, Optional<UpstreamEvent> upstreamEvent) {
    /** An upstream's own event, in its API's dialect, with its data parsed once (the reader did). */
    public record UpstreamEvent(Api dialect, SseEvent event, JsonNode data) {
    }

    public StreamChunk(String data, ObjectNode json) {
        this(data, json, Optional.empty());
    }

    public static StreamChunk of(ObjectNode json) {
        return new StreamChunk(Json.text(json), json);
    }

    /** A chunk read from an upstream's event ({@code data} parsed); {@code json} is its chat meaning. */
    public static StreamChunk fromUpstream(Api dialect, ObjectNode json, SseEvent event, JsonNode data) {
        return new StreamChunk(Json.text(json), json, Optional.of(new UpstreamEvent(dialect, event, data)));
    }

    /** The upstream event to send a client of {@code api} as it came: present when the chunk came in that dialect. */
    public Optional<UpstreamEvent> eventFor(Api api) {
        return upstreamEvent.filter(e -> e.dialect() == api);
    }

    /** An upstream event with nothing in chat's shape: no choices and no usage. */
    public boolean isCarrier() {
        return upstreamEvent.isPresent() && !json.has("choices") && !json.has("usage");
    }

    /** The usage block, present on the final chunk when include_usage was asked for. */
    public Optional<Usage> usage() {
        return Usage.fromOpenAi(json.get("usage"));
    }

    /** True for the usage-only chunk OpenAI sends last (no choices). */
    public boolean isUsageOnly() {
        JsonNode choices = json.get("choices");
        return json.hasNonNull("usage") && (choices == null || choices.isEmpty());
    }

    public Optional<String> finishReason() {
        JsonNode choices = json.get("choices");
        if (choices == null || !choices.isArray()) {
            return Optional.empty();
        }
        for (JsonNode c : choices) {
            JsonNode reason = c.get("finish_reason");
            if (reason != null && reason.isTextual()) {
                return Optional.of(reason.asText());
            }
        }
        return Optional.empty();
    }

    /** The text this chunk adds to the answer (choice 0), or "". */
    public String contentDelta() {
        JsonNode content = json.path("choices").path(0).path("delta").path("content");
        return content.isTextual() ? content.asText() : "";
    }
}
