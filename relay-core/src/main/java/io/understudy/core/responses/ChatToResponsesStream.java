package io.understudy.core.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.server.Api;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The event stream a client of {@code /v1/responses} receives. A chunk read from a Responses
 * stream is sent as the event it came from; any other chunk (from a chat or Anthropic upstream, or
 * the tail of a stream resumed elsewhere) is translated into Responses events, fitted onto what was
 * already sent: the same response, the open message item continued, sequence numbers going on.
 * Call {@link #accept} per chunk, then {@link #finish} or {@link #failed} once.
 */
public final class ChatToResponsesStream {
    private final String requestedModel;
    private final long createdAt;
    /** Output items closed so far, by output index, for the final response object. */
    private final Map<Integer, ObjectNode> output = new LinkedHashMap<>();
    private final Map<Integer, ToolCall> toolCalls = new LinkedHashMap<>();
    private boolean started;
    private boolean ended;
    private long sequence;
    private String responseId = "resp_understudy";
    private String model;
    private int nextOutput;
    /** The message item being written: its output index and id, and its text so far; -1 when none. */
    private int messageIndex = -1;
    private String messageId;
    private final StringBuilder text = new StringBuilder();
    private String finishReason;
    private Usage usage;

    private static final class ToolCall {
        final int outputIndex;
        final String itemId;
        final String callId;
        final String name;
        final StringBuilder arguments = new StringBuilder();
        boolean done;

        ToolCall(int outputIndex, String callId, String name) {
            this.outputIndex = outputIndex;
            this.callId = callId;
            this.itemId = "fc_" + callId;
            this.name = name;
        }
    }

    public ChatToResponsesStream(String requestedModel, long createdAt) {
        this.requestedModel = requestedModel;
        this.model = requestedModel;
        this.createdAt = createdAt;
    }

    public List<SseEvent> accept(StreamChunk chunk) {
        Optional<StreamChunk.UpstreamEvent> own = chunk.eventFor(Api.RESPONSES);
        if (own.isPresent()) {
            return passOn(own.get().event(), own.get().data());
        }
        List<SseEvent> out = new ArrayList<>(3);
        JsonNode json = chunk.json();
        start(json, out);
        chunk.usage().ifPresent(u -> usage = u);
        JsonNode choice = json.path("choices").path(0);
        JsonNode delta = choice.path("delta");
        String content = delta.path("content").isTextual() ? delta.path("content").asText() : "";
        if (!content.isEmpty()) {
            if (messageIndex < 0) {
                closeToolCalls(out);
                openMessage(out);
            }
            text.append(content);
            out.add(event("response.output_text.delta", Json.object().put("item_id", messageId)
                    .put("output_index", messageIndex).put("content_index", 0).put("delta", content)));
        }
        for (JsonNode call : delta.path("tool_calls")) {
            int index = call.path("index").asInt(0);
            ToolCall tc = toolCalls.get(index);
            if (tc == null) {
                closeMessage(out);
                tc = new ToolCall(nextOutput++, call.path("id").asText("call_" + index), call.path("function").path("name").asText(""));
                toolCalls.put(index, tc);
                ObjectNode added = Json.object().put("output_index", tc.outputIndex);
                added.set("item", ResponsesTranslation.functionCallItem(tc.callId, tc.name, "", "in_progress"));
                out.add(event("response.output_item.added", added));
            }
            String args = call.path("function").path("arguments").asText("");
            if (!args.isEmpty()) {
                tc.arguments.append(args);
                out.add(event("response.function_call_arguments.delta", Json.object().put("item_id", tc.itemId)
                        .put("output_index", tc.outputIndex).put("delta", args)));
            }
        }
        JsonNode finish = choice.get("finish_reason");
        if (finish != null && finish.isTextual()) {
            finishReason = finish.asText();
        }
        return out;
    }

    /** The closing events still owed: open items done, then response.completed (or incomplete); none if the upstream sent them. */
    public List<SseEvent> finish() {
        if (ended) {
            return List.of();
        }
        List<SseEvent> out = new ArrayList<>(5);
        start(Json.object(), out);
        closeMessage(out);
        closeToolCalls(out);
        boolean cut = "length".equals(finishReason);
        ObjectNode response = ResponsesTranslation.response(responseId, model, createdAt, cut ? "incomplete" : "completed",
                outputArray(), usage == null ? Usage.ZERO : usage, cut);
        out.add(event(cut ? "response.incomplete" : "response.completed", Json.object().set("response", response)));
        ended = true;
        return out;
    }

    /** The in-band end of a failed stream: response.failed carrying the error (OpenAI's {@code error} object). */
    public List<SseEvent> failed(JsonNode error) {
        List<SseEvent> out = new ArrayList<>(3);
        start(Json.object(), out);
        ObjectNode response = ResponsesTranslation.response(responseId, model, createdAt, "failed", outputArray(), usage, false);
        response.putObject("error").put("code", error.path("code").asText("server_error"))
                .put("message", error.path("message").asText(""));
        if (error.has("origin")) {
            ((ObjectNode) response.get("error")).set("origin", error.get("origin"));
        }
        out.add(event("response.failed", Json.object().set("response", response)));
        ended = true;
        return out;
    }

    /** An upstream event sent as it came; what it opens, closes or numbers is remembered, for a translated tail. */
    private List<SseEvent> passOn(SseEvent event, JsonNode data) {
        sequence = Math.max(sequence, data.path("sequence_number").asLong(sequence - 1) + 1);
        switch (data.path("type").asText()) {
            case "response.created" -> {
                started = true;
                responseId = data.path("response").path("id").asText(responseId);
                model = data.path("response").path("model").asText(model);
            }
            case "response.output_item.added" -> {
                int index = data.path("output_index").asInt(nextOutput);
                nextOutput = Math.max(nextOutput, index + 1);
                JsonNode item = data.path("item");
                if ("message".equals(item.path("type").asText())) {
                    messageIndex = index;
                    messageId = item.path("id").asText();
                    text.setLength(0);
                }
            }
            case "response.output_text.delta" -> text.append(data.path("delta").asText(""));
            case "response.output_item.done" -> {
                int index = data.path("output_index").asInt();
                output.put(index, (ObjectNode) data.path("item").deepCopy());
                if (index == messageIndex) {
                    messageIndex = -1;
                }
            }
            case "response.completed", "response.incomplete", "response.failed" -> ended = true;
            default -> {
                // deltas of other kinds change nothing a tail needs
            }
        }
        return List.of(event);
    }

    private void start(JsonNode chunk, List<SseEvent> out) {
        if (started) {
            return;
        }
        started = true;
        String id = chunk.path("id").asText("");
        if (!id.isEmpty()) {
            responseId = ResponsesTranslation.responseId(id);
        }
        model = chunk.path("model").asText(requestedModel);
        if (model.isEmpty()) {
            model = requestedModel;
        }
        ObjectNode response = ResponsesTranslation.response(responseId, model, createdAt, "in_progress", Json.array(), null, false);
        out.add(event("response.created", Json.object().set("response", response.deepCopy())));
        out.add(event("response.in_progress", Json.object().set("response", response)));
    }

    private void openMessage(List<SseEvent> out) {
        messageIndex = nextOutput++;
        messageId = ResponsesTranslation.messageId(responseId.replaceFirst("^resp_", "")) + (messageIndex == 0 ? "" : "_" + messageIndex);
        text.setLength(0);
        ObjectNode added = Json.object().put("output_index", messageIndex);
        added.set("item", ResponsesTranslation.messageItem(messageId, null, "in_progress"));
        out.add(event("response.output_item.added", added));
        ObjectNode part = Json.object().put("item_id", messageId).put("output_index", messageIndex).put("content_index", 0);
        part.set("part", ResponsesTranslation.outputText(""));
        out.add(event("response.content_part.added", part));
    }

    private void closeMessage(List<SseEvent> out) {
        if (messageIndex < 0) {
            return;
        }
        String all = text.toString();
        out.add(event("response.output_text.done", Json.object().put("item_id", messageId).put("output_index", messageIndex)
                .put("content_index", 0).put("text", all)));
        ObjectNode part = Json.object().put("item_id", messageId).put("output_index", messageIndex).put("content_index", 0);
        part.set("part", ResponsesTranslation.outputText(all));
        out.add(event("response.content_part.done", part));
        ObjectNode item = ResponsesTranslation.messageItem(messageId, all, "completed");
        output.put(messageIndex, item);
        out.add(event("response.output_item.done", Json.object().put("output_index", messageIndex).set("item", item.deepCopy())));
        messageIndex = -1;
    }

    private void closeToolCalls(List<SseEvent> out) {
        for (ToolCall tc : toolCalls.values()) {
            if (tc.done) {
                continue;
            }
            tc.done = true;
            String args = tc.arguments.toString();
            out.add(event("response.function_call_arguments.done", Json.object().put("item_id", tc.itemId)
                    .put("output_index", tc.outputIndex).put("arguments", args)));
            ObjectNode item = ResponsesTranslation.functionCallItem(tc.callId, tc.name, args, "completed");
            output.put(tc.outputIndex, item);
            out.add(event("response.output_item.done", Json.object().put("output_index", tc.outputIndex).set("item", item.deepCopy())));
        }
    }

    private ArrayNode outputArray() {
        ArrayNode items = Json.array();
        output.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> items.add(e.getValue()));
        return items;
    }

    private SseEvent event(String type, ObjectNode fields) {
        ObjectNode data = Json.object().put("type", type);
        data.setAll(fields);
        data.put("sequence_number", sequence++);
        return SseEvent.named(type, Json.text(data));
    }
}
