package io.understudy.core.provider;

import io.understudy.core.wire.Usage;

import java.util.Map;

/** An embeddings answer: the upstream's bytes, the usage read from them and its x-understudy-* headers. */
public record Embeddings(byte[] bytes, Usage usage, String model, Map<String, String> upstreamHeaders) {
    public Embeddings {
        upstreamHeaders = Map.copyOf(upstreamHeaders);
    }
}
