package io.understudy.core.provider;

import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.EmbeddingsRequest;

/**
 * An adapter to one upstream. Requests and answers are in OpenAI's shape whatever the upstream
 * speaks. Every failure is thrown as a {@link io.understudy.core.error.FailureException}.
 */
public interface Provider {
    ProviderConfig config();

    default String name() {
        return config().name();
    }

    /** A non-streamed completion; the request must not ask for a stream. */
    ChatCompletion complete(ChatRequest request);

    /** Opens a stream; returns once the upstream accepted it (status 200, headers read). */
    ChatStream stream(ChatRequest request);

    Embeddings embed(EmbeddingsRequest request);

    /** The upstream's model list in OpenAI's shape ({@code {"object":"list","data":[{"id":…}]}}). */
    com.fasterxml.jackson.databind.node.ObjectNode models();

    static Provider create(ProviderConfig config, HttpTransport transport) {
        return switch (config.kind()) {
            case OPENAI -> new OpenAiProvider(config, transport);
            case ANTHROPIC -> new AnthropicProvider(config, transport, java.time.Clock.systemUTC());
        };
    }
}
