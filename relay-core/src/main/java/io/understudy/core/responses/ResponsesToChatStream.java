package io.understudy.core.responses;

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
 * Reads a Responses API event stream as chat-completion chunks, one chunk per event, each keeping
 * its event: what failover reads, while a Responses client receives the events as they came.
 */
public final class ResponsesToChatStream {
    private final String upstream;
    private final Origin origin;
    private final Map<String, Integer> toolIndexByItem = new HashMap<>();
    private String id = "chatcmpl-unknown";
    private String model = "";
    private long created;
    private boolean finished;

    /** {@code origin}: whom a failure event blames, unless it says a provider behind the upstream failed. */
    public ResponsesToChatStream(String upstream, Origin origin, long created) {
        this.upstream = upstream;
        this.origin = origin;
        this.created = created;
    }

    public boolean finished() {
        return finished;
    }

    /** The chunk one event is: its chat meaning, or a carrier when it has none. */
    public StreamChunk translate(SseEvent event) {
        JsonNode data;
        try {
            data = Json.parse(event.data());
        } catch (IOException e) {
            throw broken("malformed event from " + upstream);
        }
        if (data == null || !data.isObject()) {
            throw broken("malformed event from " + upstream);
        }
        String type = event.event() != null ? event.event() : data.path("type").asText();
        ObjectNode meaning = switch (type) {
            case "response.created" -> {
                JsonNode response = data.path("response");
                id = "chatcmpl-" + response.path("id").asText("").replaceFirst("^resp_", "");
                model = response.path("model").asText("");
                created = response.path("created_at").asLong(created);
                yield chunk(Json.object().put("role", "assistant").put("content", ""), null);
            }
            case "response.output_text.delta" -> chunk(Json.object().put("content", data.path("delta").asText("")), null);
            case "response.output_item.added" -> {
                JsonNode item = data.path("item");
                if (!"function_call".equals(item.path("type").asText())) {
                    yield null;
                }
                int index = toolIndexByItem.size();
                toolIndexByItem.put(item.path("id").asText(), index);
                ObjectNode call = Json.object().put("index", index).put("id", item.path("call_id").asText()).put("type", "function");
                call.putObject("function").put("name", item.path("name").asText()).put("arguments", "");
                yield chunk(ChunkShapes.toolDelta(call), null);
            }
            case "response.function_call_arguments.delta" -> {
                Integer index = toolIndexByItem.get(data.path("item_id").asText());
                if (index == null) {
                    yield null;
                }
                ObjectNode call = Json.object().put("index", index);
                call.putObject("function").put("arguments", data.path("delta").asText(""));
                yield chunk(ChunkShapes.toolDelta(call), null);
            }
            case "response.completed", "response.incomplete" -> {
                finished = true;
                JsonNode response = data.path("response");
                String finish = !toolIndexByItem.isEmpty() ? "tool_calls"
                        : "max_output_tokens".equals(response.path("incomplete_details").path("reason").asText()) ? "length"
                        : "stop";
                ObjectNode last = chunk(Json.object(), finish);
                Usage.fromResponses(response.get("usage")).ifPresent(u -> last.set("usage", u.toOpenAi()));
                yield last;
            }
            case "response.failed", "error" -> {
                JsonNode error = type.equals("error") ? data : data.path("response").path("error");
                String message = error.path("message").asText("stream error from " + upstream);
                Origin blamed = "provider".equals(error.path("origin").asText()) ? Origin.PROVIDER : origin;
                throw new FailureException(new Failure.Retryable(blamed, upstream, 500,
                        error.path("code").asText("server_error"), message));
            }
            default -> null;
        };
        ObjectNode json = meaning != null ? meaning : base();
        return StreamChunk.fromUpstream(Api.RESPONSES, json, event, data);
    }

    private FailureException broken(String message) {
        return new FailureException(new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.BROKEN_STREAM, message));
    }

    private ObjectNode base() {
        return ChunkShapes.base(id, created, model);
    }

    private ObjectNode chunk(ObjectNode delta, String finishReason) {
        return ChunkShapes.choice(id, created, model, delta, finishReason);
    }
}
