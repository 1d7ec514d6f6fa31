package io.understudy.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.server.Api;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.wire.ChunkShapes;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads Anthropic's event stream as OpenAI chat-completion chunks, one chunk per event: each chunk
 * keeps its event, so a client that called Anthropic's API receives the events as they came.
 */
public final class AnthropicToOpenAiStream {
    private final String upstream;
    private final Origin origin;
    private final long created;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private String id = "chatcmpl-unknown";
    private String model = "";
    private long inputTokens;
    private long outputTokens;
    private boolean finished;

    /** {@code origin}: whom an error event blames, unless it says a provider behind the upstream failed. */
    public AnthropicToOpenAiStream(String upstream, Origin origin, long created) {
        this.upstream = upstream;
        this.origin = origin;
        this.created = created;
    }

    public boolean finished() {
        return finished;
    }

    public Usage usage() {
        return new Usage(inputTokens, outputTokens);
    }

    /** The chunk one Anthropic event is: its OpenAI meaning, or a carrier when it has none. */
    public StreamChunk translate(SseEvent event) {
        JsonNode data;
        try {
            data = Json.parse(event.data());
        } catch (IOException e) {
            throw new FailureException(new Failure.Unavailable(origin, upstream,
                    Failure.UnavailableKind.BROKEN_STREAM, "malformed event from " + upstream));
        }
        if (data == null) {
            throw new FailureException(new Failure.Unavailable(origin, upstream,
                    Failure.UnavailableKind.BROKEN_STREAM, "empty event from " + upstream));
        }
        String type = event.event() != null ? event.event() : data.path("type").asText();
        ObjectNode meaning = meaning(type, data);
        return StreamChunk.fromUpstream(Api.ANTHROPIC, meaning != null ? meaning : base(), event, data);
    }

    /** The event's chat chunk, or null when it has none. */
    private ObjectNode meaning(String type, JsonNode data) {
        switch (type) {
            case "message_start" -> {
                JsonNode message = data.path("message");
                id = "chatcmpl-" + message.path("id").asText("");
                model = message.path("model").asText("");
                Usage.fromAnthropic(message.get("usage")).ifPresent(u -> {
                    inputTokens = u.promptTokens();
                    outputTokens = u.completionTokens();
                });
                ObjectNode delta = Json.object().put("role", "assistant").put("content", "");
                return chunk(delta, null);
            }
            case "content_block_start" -> {
                JsonNode block = data.path("content_block");
                if ("tool_use".equals(block.path("type").asText())) {
                    int toolIndex = toolIndexByBlock.size();
                    toolIndexByBlock.put(data.path("index").asInt(), toolIndex);
                    ObjectNode call = Json.object();
                    call.put("index", toolIndex);
                    call.put("id", block.path("id").asText());
                    call.put("type", "function");
                    call.putObject("function").put("name", block.path("name").asText()).put("arguments", "");
                    return chunk(ChunkShapes.toolDelta(call), null);
                } else if ("text".equals(block.path("type").asText()) && !block.path("text").asText("").isEmpty()) {
                    return chunk(Json.object().put("content", block.path("text").asText()), null);
                }
            }
            case "content_block_delta" -> {
                JsonNode delta = data.path("delta");
                switch (delta.path("type").asText()) {
                    case "text_delta" -> {
                        return chunk(Json.object().put("content", delta.path("text").asText()), null);
                    }
                    case "input_json_delta" -> {
                        Integer toolIndex = toolIndexByBlock.get(data.path("index").asInt());
                        if (toolIndex != null) {
                            ObjectNode call = Json.object();
                            call.put("index", toolIndex);
                            call.putObject("function").put("arguments", delta.path("partial_json").asText());
                            return chunk(ChunkShapes.toolDelta(call), null);
                        }
                    }
                    default -> {
                        // thinking and signature deltas: nothing in chat completions.
                    }
                }
            }
            case "message_delta" -> {
                JsonNode usage = data.path("usage");
                if (usage.has("output_tokens")) {
                    outputTokens = usage.path("output_tokens").asLong();
                }
                if (usage.has("input_tokens")) {
                    inputTokens = Usage.fromAnthropic(usage).map(Usage::promptTokens).orElse(inputTokens);
                }
                String stop = data.path("delta").path("stop_reason").asText(null);
                if (stop != null) {
                    return chunk(Json.object(), AnthropicTranslation.toOpenAiFinish(stop));
                }
            }
            case "message_stop" -> {
                finished = true;
                ObjectNode usageChunk = base();
                usageChunk.putArray("choices");
                usageChunk.set("usage", usage().toOpenAi());
                return usageChunk;
            }
            case "error" -> {
                JsonNode error = data.path("error");
                String errorType = error.path("type").asText("api_error");
                String message = error.path("message").asText("stream error from " + upstream);
                // a relay's in-band error says when its provider failed, so the relay itself is not blamed
                Origin blamed = "provider".equals(error.path("origin").asText()) ? Origin.PROVIDER : origin;
                throw new FailureException(errorType.equals("rate_limit_error")
                        ? new Failure.RateLimited(blamed, upstream, java.util.Optional.empty(), message)
                        : new Failure.Retryable(blamed, upstream, errorType.equals("overloaded_error") ? 529 : 500,
                        errorType, message));
            }
            default -> {
                // ping and unknown events carry nothing.
            }
        }
        return null;
    }

    private ObjectNode base() {
        return ChunkShapes.base(id, created, model);
    }

    private ObjectNode chunk(ObjectNode delta, String finishReason) {
        return ChunkShapes.choice(id, created, model, delta, finishReason);
    }
}
