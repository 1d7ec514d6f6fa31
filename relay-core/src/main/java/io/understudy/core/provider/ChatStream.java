package io.understudy.core.provider;

import io.understudy.core.wire.StreamChunk;

/**
 * A chat-completion stream in OpenAI's chunk shape, read one chunk at a time as the upstream
 * produces it. {@link #next()} returns null at a proper end and throws
 * {@link io.understudy.core.error.FailureException} when the stream breaks, is cut or stalls:
 * a cut stream never ends as if it had succeeded.
 */
public interface ChatStream extends AutoCloseable {
    StreamChunk next();

    /** The upstream's {@code x-understudy-*} response headers (a relay's provider, model, epoch). */
    default java.util.Map<String, String> upstreamHeaders() {
        return java.util.Map.of();
    }

    /** Releases the upstream connection; cancels the upstream request if still running. */
    @Override
    void close();
}
