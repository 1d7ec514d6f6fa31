package io.understudy.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** Anthropic Messages events: message_start, content_block_*, message_delta, message_stop. */
final class AnthropicStreamFormat implements StreamFormat {
    private final ProviderSim.Answer answer;

    AnthropicStreamFormat(ProviderSim.Answer answer) {
        this.answer = answer;
    }

    @Override
    public String start() {
        ObjectNode message = Json.object();
        message.put("id", "msg_" + answer.id());
        message.put("type", "message");
        message.put("role", "assistant");
        message.put("model", answer.model());
        message.putArray("content");
        message.putNull("stop_reason");
        message.putNull("stop_sequence");
        message.putObject("usage").put("input_tokens", answer.promptTokens()).put("output_tokens", 1);
        ObjectNode data = Json.object().put("type", "message_start");
        data.set("message", message);
        return event("message_start", data) + event("ping", Json.object().put("type", "ping"));
    }

    @Override
    public String openText() {
        ObjectNode data = Json.object().put("type", "content_block_start").put("index", 0);
        data.putObject("content_block").put("type", "text").put("text", "");
        return event("content_block_start", data);
    }

    @Override
    public String token(String token) {
        ObjectNode data = Json.object().put("type", "content_block_delta").put("index", 0);
        data.putObject("delta").put("type", "text_delta").put("text", token);
        return event("content_block_delta", data);
    }

    @Override
    public String toolCall(String name, String arguments) {
        ObjectNode start = Json.object().put("type", "content_block_start").put("index", 0);
        start.putObject("content_block").put("type", "tool_use").put("id", "toolu_" + answer.id()).put("name", name)
                .putObject("input");
        ObjectNode delta = Json.object().put("type", "content_block_delta").put("index", 0);
        delta.putObject("delta").put("type", "input_json_delta").put("partial_json", arguments);
        return event("content_block_start", start) + event("content_block_delta", delta);
    }

    @Override
    public String malformed() {
        return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\n\n";
    }

    @Override
    public String finish() {
        String stop = answer.tool().isPresent() ? "tool_use" : answer.finish().equals("length") ? "max_tokens" : "end_turn";
        ObjectNode delta = Json.object().put("type", "message_delta");
        delta.putObject("delta").put("stop_reason", stop).putNull("stop_sequence");
        delta.putObject("usage").put("output_tokens", answer.completionTokens());
        return event("content_block_stop", Json.object().put("type", "content_block_stop").put("index", 0))
                + event("message_delta", delta);
    }

    @Override
    public String done() {
        return event("message_stop", Json.object().put("type", "message_stop"));
    }

    private static String event(String name, ObjectNode data) {
        return "event: " + name + "\ndata: " + Json.text(data) + "\n\n";
    }
}
