package io.understudy.core.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.wire.ResponsesRequest;

/** An upstream that serves both dialects (see {@link ProviderKind#OPENAI_AND_ANTHROPIC}): each request goes as it is. */
final class BilingualProvider implements Provider {
    private final OpenAiProvider openAi;
    private final AnthropicProvider anthropic;

    BilingualProvider(OpenAiProvider openAi, AnthropicProvider anthropic) {
        this.openAi = openAi;
        this.anthropic = anthropic;
    }

    @Override
    public ProviderConfig config() {
        return openAi.config();
    }

    @Override
    public BilingualProvider withHeaders(java.util.Map<io.helidon.http.HeaderName, String> extra) {
        return new BilingualProvider(openAi.withHeaders(extra), anthropic.withHeaders(extra));
    }

    @Override
    public ChatCompletion complete(Conversation request) {
        return switch (request) {
            case ChatRequest chat -> openAi.complete(chat);
            case ResponsesRequest responses -> openAi.complete(responses);
            case MessagesRequest messages -> anthropic.complete(messages);
        };
    }

    @Override
    public ChatStream stream(Conversation request) {
        return switch (request) {
            case ChatRequest chat -> openAi.stream(chat);
            case ResponsesRequest responses -> openAi.stream(responses);
            case MessagesRequest messages -> anthropic.stream(messages);
        };
    }

    @Override
    public Embeddings embed(EmbeddingsRequest request) {
        return openAi.embed(request);
    }

    @Override
    public ObjectNode models() {
        return openAi.models();
    }
}
