package io.understudy.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.wire.Usage;

import java.io.IOException;

/**
 * Translation between OpenAI Chat Completions and Anthropic Messages, both ways, for requests
 * and whole responses. Streams are translated by {@link AnthropicToOpenAiStream} and
 * {@link OpenAiToAnthropicStream}. Pure functions over JSON trees.
 */
public final class AnthropicTranslation {
    static final int DEFAULT_MAX_TOKENS = 4096;

    private AnthropicTranslation() {
    }

    // ---------------------------------------------------------------- OpenAI -> Anthropic (egress)

    /** An OpenAI chat request as the Anthropic Messages request that means the same. */
    public static ObjectNode toAnthropicRequest(ChatRequest request, String model) {
        ObjectNode in = request.body();
        ObjectNode out = Json.object();
        out.put("model", model);
        StringBuilder system = new StringBuilder();
        ArrayNode messages = out.putArray("messages");
        for (JsonNode m : in.get("messages")) {
            String role = m.path("role").asText();
            switch (role) {
                case "system", "developer" -> {
                    if (!system.isEmpty()) {
                        system.append("\n\n");
                    }
                    system.append(textOf(m.get("content")));
                }
                case "user" -> append(messages, "user", userBlocks(m.get("content")));
                case "assistant" -> append(messages, "assistant", assistantBlocks(m));
                case "tool", "function" -> {
                    ObjectNode result = Json.object();
                    result.put("type", "tool_result");
                    result.put("tool_use_id", m.path("tool_call_id").asText(m.path("name").asText("")));
                    result.put("content", textOf(m.get("content")));
                    ArrayNode blocks = Json.array();
                    blocks.add(result);
                    append(messages, "user", blocks);
                }
                default -> throw new IllegalStateException("role validated upstream: " + role);
            }
        }
        if (!system.isEmpty()) {
            out.put("system", system.toString());
        }
        JsonNode maxTokens = in.hasNonNull("max_completion_tokens") ? in.get("max_completion_tokens") : in.get("max_tokens");
        out.put("max_tokens", maxTokens != null && maxTokens.isIntegralNumber() ? maxTokens.asInt() : DEFAULT_MAX_TOKENS);
        copyIfPresent(in, "temperature", out, "temperature");
        copyIfPresent(in, "top_p", out, "top_p");
        JsonNode stop = in.get("stop");
        if (stop != null && stop.isTextual()) {
            out.putArray("stop_sequences").add(stop.asText());
        } else if (stop != null && stop.isArray()) {
            out.set("stop_sequences", stop.deepCopy());
        }
        if (request.stream()) {
            out.put("stream", true);
        }
        JsonNode tools = in.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) {
            ArrayNode outTools = out.putArray("tools");
            for (JsonNode tool : tools) {
                JsonNode fn = tool.path("function");
                ObjectNode t = outTools.addObject();
                t.put("name", fn.path("name").asText());
                if (fn.hasNonNull("description")) {
                    t.put("description", fn.get("description").asText());
                }
                t.set("input_schema", fn.hasNonNull("parameters") ? fn.get("parameters").deepCopy() : emptySchema());
            }
        }
        JsonNode toolChoice = in.get("tool_choice");
        if (toolChoice != null && !toolChoice.isNull()) {
            ObjectNode choice = Json.object();
            if (toolChoice.isTextual()) {
                choice.put("type", switch (toolChoice.asText()) {
                    case "required" -> "any";
                    case "none" -> "none";
                    default -> "auto";
                });
            } else {
                choice.put("type", "tool");
                choice.put("name", toolChoice.path("function").path("name").asText());
            }
            out.set("tool_choice", choice);
        }
        if (in.hasNonNull("user")) {
            out.putObject("metadata").put("user_id", in.get("user").asText());
        }
        return out;
    }

    /** An Anthropic Messages response as an OpenAI chat completion. */
    public static ObjectNode toOpenAiResponse(JsonNode message, long created) {
        ObjectNode out = Json.object();
        out.put("id", "chatcmpl-" + message.path("id").asText(""));
        out.put("object", "chat.completion");
        out.put("created", created);
        out.put("model", message.path("model").asText());
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode msg = choice.putObject("message");
        msg.put("role", "assistant");
        StringBuilder text = new StringBuilder();
        ArrayNode toolCalls = Json.array();
        for (JsonNode block : message.path("content")) {
            switch (block.path("type").asText()) {
                case "text" -> text.append(block.path("text").asText());
                case "tool_use" -> {
                    ObjectNode call = toolCalls.addObject();
                    call.put("id", block.path("id").asText());
                    call.put("type", "function");
                    ObjectNode fn = call.putObject("function");
                    fn.put("name", block.path("name").asText());
                    fn.put("arguments", Json.text(block.path("input")));
                }
                default -> {
                    // thinking and other blocks have no OpenAI equivalent in chat completions.
                }
            }
        }
        if (!text.isEmpty() || toolCalls.isEmpty()) {
            msg.put("content", text.toString());
        } else {
            msg.putNull("content");
        }
        if (!toolCalls.isEmpty()) {
            msg.set("tool_calls", toolCalls);
        }
        choice.put("finish_reason", toOpenAiFinish(message.path("stop_reason").asText(null)));
        Usage usage = Usage.fromAnthropic(message.get("usage")).orElse(Usage.ZERO);
        out.set("usage", usage.toOpenAi());
        return out;
    }

    public static String toOpenAiFinish(String stopReason) {
        if (stopReason == null) {
            return null;
        }
        return switch (stopReason) {
            case "max_tokens" -> "length";
            case "tool_use" -> "tool_calls";
            case "refusal" -> "content_filter";
            default -> "stop";
        };
    }

    // ---------------------------------------------------------------- Anthropic -> OpenAI (ingress)

    /** An Anthropic Messages request as the OpenAI chat request that means the same. */
    public static ObjectNode toOpenAiRequest(MessagesRequest request) {
        ObjectNode in = request.body();
        ObjectNode out = Json.object();
        out.put("model", request.model());
        ArrayNode messages = out.putArray("messages");
        JsonNode system = in.get("system");
        if (system != null && !system.isNull()) {
            String text = system.isTextual() ? system.asText() : textOf(system);
            if (!text.isEmpty()) {
                messages.addObject().put("role", "system").put("content", text);
            }
        }
        for (JsonNode m : in.get("messages")) {
            String role = m.get("role").asText();
            JsonNode content = m.get("content");
            if (content.isTextual()) {
                messages.addObject().put("role", role).put("content", content.asText());
                continue;
            }
            ArrayNode parts = Json.array();
            ArrayNode toolCalls = Json.array();
            for (JsonNode block : content) {
                switch (block.path("type").asText()) {
                    case "text" -> parts.addObject().put("type", "text").put("text", block.path("text").asText());
                    case "image" -> {
                        JsonNode source = block.path("source");
                        String url = "url".equals(source.path("type").asText())
                                ? source.path("url").asText()
                                : "data:" + source.path("media_type").asText() + ";base64," + source.path("data").asText();
                        ObjectNode part = parts.addObject().put("type", "image_url");
                        part.putObject("image_url").put("url", url);
                    }
                    case "tool_use" -> {
                        ObjectNode call = toolCalls.addObject();
                        call.put("id", block.path("id").asText());
                        call.put("type", "function");
                        call.putObject("function").put("name", block.path("name").asText())
                                .put("arguments", Json.text(block.path("input")));
                    }
                    case "tool_result" -> {
                        JsonNode resultContent = block.get("content");
                        String text = resultContent == null ? "" : resultContent.isTextual() ? resultContent.asText() : textOf(resultContent);
                        messages.addObject().put("role", "tool")
                                .put("tool_call_id", block.path("tool_use_id").asText())
                                .put("content", text);
                    }
                    default -> {
                        // documents, thinking: no chat-completions equivalent; dropped.
                    }
                }
            }
            if (!parts.isEmpty() || !toolCalls.isEmpty()) {
                ObjectNode msg = messages.addObject().put("role", role);
                if (parts.isEmpty()) {
                    msg.putNull("content");
                } else if (parts.size() == 1 && parts.get(0).path("type").asText().equals("text")) {
                    msg.put("content", parts.get(0).path("text").asText());
                } else {
                    msg.set("content", parts);
                }
                if (!toolCalls.isEmpty()) {
                    msg.set("tool_calls", toolCalls);
                }
            }
        }
        out.put("max_tokens", in.get("max_tokens").asInt());
        copyIfPresent(in, "temperature", out, "temperature");
        copyIfPresent(in, "top_p", out, "top_p");
        copyIfPresent(in, "stop_sequences", out, "stop");
        if (request.stream()) {
            out.put("stream", true);
            out.putObject("stream_options").put("include_usage", true);
        }
        JsonNode tools = in.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) {
            ArrayNode outTools = out.putArray("tools");
            for (JsonNode tool : tools) {
                ObjectNode fn = outTools.addObject().put("type", "function").putObject("function");
                fn.put("name", tool.path("name").asText());
                if (tool.hasNonNull("description")) {
                    fn.put("description", tool.get("description").asText());
                }
                fn.set("parameters", tool.hasNonNull("input_schema") ? tool.get("input_schema").deepCopy() : emptySchema());
            }
        }
        JsonNode toolChoice = in.get("tool_choice");
        if (toolChoice != null && toolChoice.isObject()) {
            switch (toolChoice.path("type").asText()) {
                case "any" -> out.put("tool_choice", "required");
                case "none" -> out.put("tool_choice", "none");
                case "tool" -> out.putObject("tool_choice").put("type", "function")
                        .putObject("function").put("name", toolChoice.path("name").asText());
                default -> out.put("tool_choice", "auto");
            }
        }
        JsonNode userId = in.path("metadata").get("user_id");
        if (userId != null && userId.isTextual()) {
            out.put("user", userId.asText());
        }
        return out;
    }

    /** An OpenAI chat completion as an Anthropic Messages response. */
    public static ObjectNode toAnthropicResponse(JsonNode completion) {
        ObjectNode out = Json.object();
        out.put("id", anthropicId(completion.path("id").asText("")));
        out.put("type", "message");
        out.put("role", "assistant");
        out.put("model", completion.path("model").asText());
        ArrayNode content = out.putArray("content");
        JsonNode choice = completion.path("choices").path(0);
        JsonNode message = choice.path("message");
        String text = message.path("content").isTextual() ? message.path("content").asText() : "";
        if (!text.isEmpty()) {
            content.addObject().put("type", "text").put("text", text);
        }
        for (JsonNode call : message.path("tool_calls")) {
            ObjectNode block = content.addObject();
            block.put("type", "tool_use");
            block.put("id", call.path("id").asText());
            block.put("name", call.path("function").path("name").asText());
            block.set("input", parseArguments(call.path("function").path("arguments").asText("{}")));
        }
        out.put("stop_reason", toAnthropicStop(choice.path("finish_reason").asText(null)));
        out.putNull("stop_sequence");
        Usage usage = Usage.fromOpenAi(completion.get("usage")).orElse(Usage.ZERO);
        out.set("usage", usage.toAnthropic());
        return out;
    }

    public static String toAnthropicStop(String finishReason) {
        if (finishReason == null) {
            return null;
        }
        return switch (finishReason) {
            case "length" -> "max_tokens";
            case "tool_calls", "function_call" -> "tool_use";
            case "content_filter" -> "refusal";
            default -> "end_turn";
        };
    }

    // ---------------------------------------------------------------- helpers

    /** {@code chatcmpl-abc} -> {@code msg_abc}; an id that was Anthropic's to begin with keeps its form. */
    public static String anthropicId(String openAiId) {
        String bare = openAiId.startsWith("chatcmpl-") ? openAiId.substring("chatcmpl-".length()) : openAiId;
        return bare.startsWith("msg_") ? bare : "msg_" + bare;
    }

    static JsonNode parseArguments(String arguments) {
        try {
            JsonNode node = Json.parse(arguments);
            return node != null && node.isObject() ? node : Json.object();
        } catch (IOException e) {
            return Json.object();
        }
    }

    private static ArrayNode userBlocks(JsonNode content) {
        ArrayNode blocks = Json.array();
        if (content == null || content.isNull()) {
            return blocks;
        }
        if (content.isTextual()) {
            blocks.addObject().put("type", "text").put("text", content.asText());
            return blocks;
        }
        for (JsonNode part : content) {
            switch (part.path("type").asText()) {
                case "text" -> blocks.addObject().put("type", "text").put("text", part.path("text").asText());
                case "image_url" -> {
                    String url = part.path("image_url").path("url").asText();
                    ObjectNode image = blocks.addObject().put("type", "image");
                    ObjectNode source = image.putObject("source");
                    if (url.startsWith("data:") && url.contains(";base64,")) {
                        source.put("type", "base64");
                        source.put("media_type", url.substring(5, url.indexOf(';')));
                        source.put("data", url.substring(url.indexOf(";base64,") + 8));
                    } else {
                        source.put("type", "url");
                        source.put("url", url);
                    }
                }
                default -> {
                    // audio and file parts have no Anthropic equivalent here.
                }
            }
        }
        return blocks;
    }

    private static ArrayNode assistantBlocks(JsonNode message) {
        ArrayNode blocks = Json.array();
        String text = textOf(message.get("content"));
        if (!text.isEmpty()) {
            blocks.addObject().put("type", "text").put("text", text);
        }
        for (JsonNode call : message.path("tool_calls")) {
            ObjectNode block = blocks.addObject();
            block.put("type", "tool_use");
            block.put("id", call.path("id").asText());
            block.put("name", call.path("function").path("name").asText());
            block.set("input", parseArguments(call.path("function").path("arguments").asText("{}")));
        }
        return blocks;
    }

    /** Anthropic wants alternating roles: consecutive messages of one role are merged. */
    private static void append(ArrayNode messages, String role, ArrayNode blocks) {
        if (blocks.isEmpty()) {
            return;
        }
        JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
        if (last != null && role.equals(last.path("role").asText())) {
            ((ArrayNode) last.get("content")).addAll(blocks);
            return;
        }
        ObjectNode message = messages.addObject();
        message.put("role", role);
        message.set("content", blocks);
    }

    /** The text of an OpenAI content value (string or parts) or Anthropic text blocks. */
    static String textOf(JsonNode content) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if (part.isTextual()) {
                sb.append(part.asText());
            } else if ("text".equals(part.path("type").asText())) {
                sb.append(part.path("text").asText());
            }
        }
        return sb.toString();
    }

    private static void copyIfPresent(ObjectNode from, String field, ObjectNode to, String as) {
        JsonNode value = from.get(field);
        if (value != null && !value.isNull()) {
            to.set(as, value.deepCopy());
        }
    }

    private static ObjectNode emptySchema() {
        ObjectNode schema = Json.object();
        schema.put("type", "object");
        schema.putObject("properties");
        return schema;
    }
}
