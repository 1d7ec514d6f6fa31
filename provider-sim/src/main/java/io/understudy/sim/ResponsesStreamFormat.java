package io.understudy.sim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/**
 * OpenAI Responses API events: response.created, response.in_progress, output items with their
 * content parts and deltas, response.completed carrying the whole response and its usage.
 */
final class ResponsesStreamFormat implements StreamFormat {
    private final ProviderSim.Answer answer;
    private long sequence;

    ResponsesStreamFormat(ProviderSim.Answer answer) {
        this.answer = answer;
    }

    /** The whole response object, as a non-streamed answer and response.completed carry it. */
    static ObjectNode response(ProviderSim.Answer a, String status) {
        ObjectNode r = Json.object();
        r.put("id", "resp_" + a.id());
        r.put("object", "response");
        r.put("created_at", a.created());
        r.put("status", status);
        r.putNull("error");
        if ("completed".equals(status) && a.finish().equals("length") && a.tool().isEmpty()) {
            r.put("status", "incomplete");
            r.putObject("incomplete_details").put("reason", "max_output_tokens");
        } else {
            r.putNull("incomplete_details");
        }
        r.putNull("instructions");
        r.putObject("metadata");
        r.put("model", a.model());
        ArrayNode output = r.putArray("output");
        if (!"in_progress".equals(status)) {
            output.add(a.tool().isPresent() ? functionCall(a, "completed") : message(a, a.text(), "completed"));
        }
        r.put("parallel_tool_calls", true);
        r.putNull("temperature");
        r.put("tool_choice", "auto");
        r.putArray("tools");
        r.putNull("top_p");
        if ("in_progress".equals(status)) {
            r.putNull("usage");
        } else {
            ObjectNode usage = r.putObject("usage");
            usage.put("input_tokens", a.promptTokens());
            usage.putObject("input_tokens_details").put("cached_tokens", 0);
            usage.put("output_tokens", a.completionTokens());
            usage.putObject("output_tokens_details").put("reasoning_tokens", 0);
            usage.put("total_tokens", a.promptTokens() + a.completionTokens());
        }
        return r;
    }

    private static ObjectNode message(ProviderSim.Answer a, String text, String status) {
        ObjectNode item = Json.object().put("type", "message").put("id", "msg_" + a.id()).put("status", status)
                .put("role", "assistant");
        ArrayNode content = item.putArray("content");
        if (text != null) {
            content.add(outputText(text));
        }
        return item;
    }

    private static ObjectNode outputText(String text) {
        ObjectNode part = Json.object().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        return part;
    }

    private static ObjectNode functionCall(ProviderSim.Answer a, String status) {
        return Json.object().put("type", "function_call").put("id", "fc_" + a.id()).put("call_id", "call_" + a.id())
                .put("name", a.tool().orElseThrow()).put("arguments", "completed".equals(status) ? a.toolArguments() : "")
                .put("status", status);
    }

    @Override
    public String start() {
        return event("response.created", Json.object().set("response", response(answer, "in_progress")))
                + event("response.in_progress", Json.object().set("response", response(answer, "in_progress")));
    }

    @Override
    public String openText() {
        ObjectNode added = Json.object().put("output_index", 0);
        added.set("item", message(answer, null, "in_progress"));
        ObjectNode part = Json.object().put("item_id", "msg_" + answer.id()).put("output_index", 0).put("content_index", 0);
        part.set("part", outputText(""));
        return event("response.output_item.added", added) + event("response.content_part.added", part);
    }

    @Override
    public String token(String token) {
        return event("response.output_text.delta", Json.object().put("item_id", "msg_" + answer.id()).put("output_index", 0)
                .put("content_index", 0).put("delta", token));
    }

    @Override
    public String toolCall(String name, String arguments) {
        ObjectNode added = Json.object().put("output_index", 0);
        added.set("item", functionCall(answer, "in_progress"));
        ObjectNode done = Json.object().put("output_index", 0);
        done.set("item", functionCall(answer, "completed"));
        return event("response.output_item.added", added)
                + event("response.function_call_arguments.delta", Json.object().put("item_id", "fc_" + answer.id())
                .put("output_index", 0).put("delta", arguments))
                + event("response.function_call_arguments.done", Json.object().put("item_id", "fc_" + answer.id())
                .put("output_index", 0).put("arguments", arguments))
                + event("response.output_item.done", done);
    }

    @Override
    public String malformed() {
        return "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\n\n";
    }

    @Override
    public String finish() {
        if (answer.tool().isPresent()) {
            return "";
        }
        String text = answer.text();
        ObjectNode part = Json.object().put("item_id", "msg_" + answer.id()).put("output_index", 0).put("content_index", 0);
        part.set("part", outputText(text));
        ObjectNode done = Json.object().put("output_index", 0);
        done.set("item", message(answer, text, "completed"));
        return event("response.output_text.done", Json.object().put("item_id", "msg_" + answer.id()).put("output_index", 0)
                .put("content_index", 0).put("text", text))
                + event("response.content_part.done", part)
                + event("response.output_item.done", done);
    }

    @Override
    public String done() {
        ObjectNode r = response(answer, "completed");
        String type = "incomplete".equals(r.path("status").asText()) ? "response.incomplete" : "response.completed";
        return event(type, Json.object().set("response", r));
    }

    private String event(String type, ObjectNode fields) {
        ObjectNode data = Json.object().put("type", type);
        data.setAll(fields);
        data.put("sequence_number", sequence++);
        return "event: " + type + "\ndata: " + Json.text(data) + "\n\n";
    }
}
