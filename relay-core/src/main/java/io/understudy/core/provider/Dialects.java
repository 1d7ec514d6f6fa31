package io.understudy.core.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.anthropic.AnthropicTranslation;
import io.understudy.core.responses.ResponsesTranslation;
import io.understudy.core.server.Api;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.wire.ResponsesRequest;

/**
 * The one place an adapter turns a request into its upstream's dialect, and a chat answer back
 * into the request's: each a no-op when the dialects already match.
 */
final class Dialects {
    private Dialects() {
    }

    /**
     * The request as an OpenAI chat request for {@code provider}: itself, or translated (a Responses
     * request that needs stored state is refused, naming the feature).
     */
    static ChatRequest asChat(Conversation request, String provider) {
        return switch (request) {
            case ChatRequest chat -> chat;
            case MessagesRequest messages -> new ChatRequest(AnthropicTranslation.toOpenAiRequest(messages));
            case ResponsesRequest responses -> ResponsesTranslation.toChat(responses, provider);
        };
    }

    /** The request as an Anthropic Messages body for {@code model}: its own bytes, or translated. */
    static byte[] asMessagesBytes(Conversation request, String model, String provider) {
        return switch (request) {
            case MessagesRequest messages -> messages.withModel(model).toBytes();
            case ChatRequest chat -> Json.bytes(AnthropicTranslation.toAnthropicRequest(chat, model));
            case ResponsesRequest responses -> Json.bytes(AnthropicTranslation.toAnthropicRequest(
                    ResponsesTranslation.toChat(responses, provider), model));
        };
    }

    /** A whole chat completion in the dialect a request was asked in. */
    static ObjectNode chatAnswerAs(Api dialect, ObjectNode completion) {
        return switch (dialect) {
            case OPENAI -> completion;
            case ANTHROPIC -> AnthropicTranslation.toAnthropicResponse(completion);
            case RESPONSES -> ResponsesTranslation.fromChat(completion);
        };
    }
}
