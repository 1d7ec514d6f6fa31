package io.understudy.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** OpenAI chat-completion chunks, {@code data: {...}} events ending in {@code data: [DONE]}. */
final class OpenAiStreamFormat implements StreamFormat {
    private final ProviderSim.Answer answer;
    private final boolean includeUsage;

    OpenAiStreamFormat(ProviderSim.Answer answer, boolean includeUsage) {
        this.answer = answer;
        this.includeUsage = includeUsage;
    }

    @Override
    public String start() {
        return event(delta(Json.object().put("role", "assistant").put("content", ""), null));
    }

    @Override
    public String openText() {
        return "";
    }

    @Override
    public String token(String token) {
        return event(delta(Json.object().put("content", token), null));
    }

    @Override
    public String toolCall(String name, String arguments) {
        ObjectNode delta = Json.object();
        ObjectNode call = delta.putArray("tool_calls").addObject();
        call.put("index", 0);
        call.put("id", "call_" + answer.id());
        call.put("type", "function");
        call.putObject("function").put("name", name).put("arguments", arguments);
        return event(delta(delta, null));
    }

    @Override
    public String malformed() {
        return "data: {\"id\":\"chatcmpl-" + answer.id() + "\",\"choices\":[{\"delta\":{\"content\":\n\n";
    }

    @Override
    public String finish() {
        String reason = answer.tool().isPresent() ? "tool_calls" : answer.finish();
        StringBuilder sb = new StringBuilder(event(delta(Json.object(), reason)));
        if (includeUsage) {
            ObjectNode usage = base();
            usage.putArray("choices");
            usage.putObject("usage").put("prompt_tokens", answer.promptTokens())
                    .put("completion_tokens", answer.completionTokens())
                    .put("total_tokens", answer.promptTokens() + answer.completionTokens());
            sb.append(event(usage));
        }
        return sb.toString();
    }

    @Override
    public String done() {
        return "data: [DONE]\n\n";
    }

    private ObjectNode base() {
        ObjectNode chunk = Json.object();
        chunk.put("id", "chatcmpl-" + answer.id());
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", answer.created());
        chunk.put("model", answer.model());
        chunk.put("system_fingerprint", "provider-sim");
        return chunk;
    }

    private ObjectNode delta(ObjectNode delta, String finishReason) {
        ObjectNode chunk = base();
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return chunk;
    }

    private static String event(ObjectNode json) {
        return "data: " + Json.text(json) + "\n\n";
    }
}
