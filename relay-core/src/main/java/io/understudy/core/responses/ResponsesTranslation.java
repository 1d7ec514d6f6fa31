package io.understudy.core.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.ResponsesRequest;
import io.understudy.core.wire.Usage;

/**
 * The stateless part of the Responses API in Chat Completions terms, for providers that do not
 * serve {@code /v1/responses} (Anthropic's, or one configured without it): input text or
 * messages, instructions, function tools, structured output, streaming. A request that needs the
 * provider's stored state, or a built-in tool only the Responses API has, is refused with a 400
 * naming the feature. Pure functions over JSON trees.
 */
public final class ResponsesTranslation {
    private ResponsesTranslation() {
    }

    // ---------------------------------------------------------------- request

    /** The chat request that means the same; {@code provider} names who cannot serve the rest. */
    public static ChatRequest toChat(ResponsesRequest request, String provider) {
        request.statefulFeature().ifPresent(feature -> {
            throw unsupported(feature, provider, "'" + feature + "' needs a provider that stores responses; '"
                    + provider + "' does not serve the Responses API (requests to it are translated), so it stores none");
        });
        ObjectNode in = request.body();
        ObjectNode out = Json.object();
        out.put("model", request.model());
        ArrayNode messages = out.putArray("messages");
        JsonNode instructions = in.get("instructions");
        if (instructions != null && instructions.isTextual() && !instructions.asText().isEmpty()) {
            messages.addObject().put("role", "system").put("content", instructions.asText());
        }
        JsonNode input = in.get("input");
        if (input.isTextual()) {
            messages.addObject().put("role", "user").put("content", input.asText());
        } else {
            for (int i = 0; i < input.size(); i++) {
                addItem(messages, input.get(i), i, provider);
            }
        }
        JsonNode max = in.get("max_output_tokens");
        if (max != null && max.isIntegralNumber()) {
            out.put("max_tokens", max.asInt());
        }
        copy(in, "temperature", out, "temperature");
        copy(in, "top_p", out, "top_p");
        copy(in, "parallel_tool_calls", out, "parallel_tool_calls");
        copy(in, "user", out, "user");
        JsonNode effort = in.path("reasoning").get("effort");
        if (effort != null && effort.isTextual()) {
            out.put("reasoning_effort", effort.asText());
        }
        JsonNode format = in.path("text").get("format");
        if (format != null && format.isObject()) {
            switch (format.path("type").asText()) {
                case "json_schema" -> {
                    ObjectNode schema = Json.object();
                    copy(format, "name", schema, "name");
                    copy(format, "schema", schema, "schema");
                    copy(format, "strict", schema, "strict");
                    copy(format, "description", schema, "description");
                    out.putObject("response_format").put("type", "json_schema").set("json_schema", schema);
                }
                case "json_object" -> out.putObject("response_format").put("type", "json_object");
                default -> {
                    // plain text: the default
                }
            }
        }
        JsonNode tools = in.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) {
            ArrayNode outTools = out.putArray("tools");
            for (JsonNode tool : tools) {
                String type = tool.path("type").asText();
                if (!type.equals("function")) {
                    throw unsupported("tools", provider, "the built-in tool '" + type + "' is served only by a provider"
                            + " with the Responses API; '" + provider + "' does not serve it");
                }
                ObjectNode fn = outTools.addObject().put("type", "function").putObject("function");
                copy(tool, "name", fn, "name");
                copy(tool, "description", fn, "description");
                copy(tool, "parameters", fn, "parameters");
                copy(tool, "strict", fn, "strict");
            }
        }
        JsonNode choice = in.get("tool_choice");
        if (choice != null && choice.isTextual()) {
            out.put("tool_choice", choice.asText());
        } else if (choice != null && "function".equals(choice.path("type").asText())) {
            out.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.path("name").asText());
        }
        if (request.stream()) {
            out.put("stream", true);
            out.putObject("stream_options").put("include_usage", true);
        }
        return new ChatRequest(out);
    }

    private static void addItem(ArrayNode messages, JsonNode item, int i, String provider) {
        String type = item.path("type").asText("message");
        switch (type) {
            case "message" -> {
                String role = item.path("role").asText("user");
                JsonNode content = item.get("content");
                if (content == null || content.isTextual()) {
                    messages.addObject().put("role", role).put("content", content == null ? "" : content.asText());
                    return;
                }
                ArrayNode parts = Json.array();
                for (JsonNode part : content) {
                    switch (part.path("type").asText()) {
                        case "input_text", "output_text", "text" -> parts.addObject().put("type", "text")
                                .put("text", part.path("text").asText());
                        case "input_image" -> parts.addObject().put("type", "image_url").putObject("image_url")
                                .put("url", part.path("image_url").asText());
                        case "refusal" -> parts.addObject().put("type", "text").put("text", part.path("refusal").asText());
                        default -> throw unsupported("input[" + i + "].content", provider, "content of type '"
                                + part.path("type").asText() + "' is served only by a provider with the Responses API");
                    }
                }
                ObjectNode message = messages.addObject().put("role", role);
                if (parts.size() == 1 && parts.get(0).path("type").asText().equals("text")) {
                    message.put("content", parts.get(0).path("text").asText());
                } else {
                    message.set("content", parts);
                }
            }
            case "function_call" -> {
                ObjectNode last = messages.isEmpty() ? null : (ObjectNode) messages.get(messages.size() - 1);
                ObjectNode holder = last != null && "assistant".equals(last.path("role").asText()) && last.has("tool_calls")
                        ? last : messages.addObject().put("role", "assistant").putNull("content");
                ArrayNode calls = holder.has("tool_calls") ? (ArrayNode) holder.get("tool_calls") : holder.putArray("tool_calls");
                ObjectNode call = calls.addObject();
                call.put("id", item.path("call_id").asText());
                call.put("type", "function");
                call.putObject("function").put("name", item.path("name").asText()).put("arguments", item.path("arguments").asText("{}"));
            }
            case "function_call_output" -> messages.addObject().put("role", "tool")
                    .put("tool_call_id", item.path("call_id").asText())
                    .put("content", item.path("output").isTextual() ? item.path("output").asText() : Json.text(item.path("output")));
            case "reasoning" -> {
                // a previous turn's reasoning: chat completions has no place for it
            }
            default -> throw unsupported("input[" + i + "]", provider, "input items of type '" + type
                    + "' are served only by a provider with the Responses API");
        }
    }

    // ---------------------------------------------------------------- answer

    /** A chat completion as the Responses API's response object. */
    public static ObjectNode fromChat(JsonNode completion) {
        JsonNode choice = completion.path("choices").path(0);
        JsonNode message = choice.path("message");
        String id = completion.path("id").asText("");
        ArrayNode output = Json.array();
        String text = message.path("content").isTextual() ? message.path("content").asText() : "";
        if (!text.isEmpty()) {
            output.add(messageItem(messageId(id), text, "completed"));
        }
        for (JsonNode call : message.path("tool_calls")) {
            output.add(functionCallItem(call.path("id").asText(), call.path("function").path("name").asText(),
                    call.path("function").path("arguments").asText(""), "completed"));
        }
        Usage usage = Usage.fromOpenAi(completion.get("usage")).orElse(Usage.ZERO);
        boolean cut = "length".equals(choice.path("finish_reason").asText());
        return response(responseId(id), completion.path("model").asText(), completion.path("created").asLong(),
                cut ? "incomplete" : "completed", output, usage, cut);
    }

    /** A response object (as whole answers and {@code response.created}/{@code response.completed} carry it). */
    static ObjectNode response(String id, String model, long createdAt, String status, ArrayNode output, Usage usage,
                               boolean cutAtMaxTokens) {
        ObjectNode r = Json.object();
        r.put("id", id);
        r.put("object", "response");
        r.put("created_at", createdAt);
        r.put("status", status);
        r.putNull("error");
        if (cutAtMaxTokens) {
            r.putObject("incomplete_details").put("reason", "max_output_tokens");
        } else {
            r.putNull("incomplete_details");
        }
        r.putNull("instructions");
        r.putObject("metadata");
        r.put("model", model);
        r.set("output", output);
        r.put("parallel_tool_calls", true);
        r.putNull("temperature");
        r.put("tool_choice", "auto");
        r.putArray("tools");
        r.putNull("top_p");
        if (usage != null) {
            r.set("usage", usage.toResponses());
        } else {
            r.putNull("usage");
        }
        return r;
    }

    static ObjectNode messageItem(String id, String text, String status) {
        ObjectNode item = Json.object().put("type", "message").put("id", id).put("status", status).put("role", "assistant");
        ArrayNode content = item.putArray("content");
        if (text != null) {
            content.add(outputText(text));
        }
        return item;
    }

    static ObjectNode outputText(String text) {
        ObjectNode part = Json.object().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        return part;
    }

    static ObjectNode functionCallItem(String callId, String name, String arguments, String status) {
        return Json.object().put("type", "function_call").put("id", "fc_" + callId).put("call_id", callId)
                .put("name", name).put("arguments", arguments).put("status", status);
    }

    static String responseId(String chatId) {
        return "resp_" + strip(chatId);
    }

    static String messageId(String chatId) {
        return "msg_" + strip(chatId);
    }

    private static String strip(String chatId) {
        return chatId.startsWith("chatcmpl-") ? chatId.substring("chatcmpl-".length()) : chatId;
    }

    private static void copy(JsonNode from, String key, ObjectNode to, String as) {
        JsonNode v = from.get(key);
        if (v != null && !v.isNull()) {
            to.set(as, v.deepCopy());
        }
    }

    private static FailureException unsupported(String param, String provider, String message) {
        return new FailureException(new Failure.ClientError(Origin.LOCAL, provider, 400, "invalid_request_error",
                "unsupported_feature", param, message));
    }
}
