package io.understudy.core.provider;

import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.EmbeddingsRequest;

/**
 * An adapter to one upstream. A chat request is answered in the dialect it was asked in (OpenAI
 * chat or Anthropic messages); the adapter translates only when its upstream speaks the other, so
 * a request and its answer cross at most one translation on their way. Streams are read as
 * OpenAI-shaped chunks that keep the Anthropic events they came from ({@link
 * io.understudy.core.wire.StreamChunk}). Every failure is thrown as a {@link
 * io.understudy.core.error.FailureException}.
 */
public interface Provider {
    ProviderConfig config();

    default String name() {
        return config().name();
    }

    /** A non-streamed answer, in the request's dialect; the request must not ask for a stream. */
    ChatCompletion complete(Conversation request);

    /** Opens a stream; returns once the upstream accepted it (status 200, headers read). */
    ChatStream stream(Conversation request);

    Embeddings embed(EmbeddingsRequest request);

    /**
     * This adapter sending {@code extra} headers too with each call (the same connections): for what
     * one request says to the next hop, such as its {@link io.understudy.core.routing.Requirement}.
     */
    Provider withHeaders(java.util.Map<io.helidon.http.HeaderName, String> extra);

    /** The upstream's model list in OpenAI's shape ({@code {"object":"list","data":[{"id":…}]}}). */
    com.fasterxml.jackson.databind.node.ObjectNode models();

    static Provider create(ProviderConfig config, HttpTransport transport) {
        return switch (config.kind()) {
            case OPENAI -> new OpenAiProvider(config, transport);
            case ANTHROPIC -> AnthropicProvider.anthropic(config, transport, java.time.Clock.systemUTC());
            case OPENAI_AND_ANTHROPIC -> new BilingualProvider(new OpenAiProvider(config, transport),
                    AnthropicProvider.messagesUnderOpenAiBase(config, transport, java.time.Clock.systemUTC()));
        };
    }
}
