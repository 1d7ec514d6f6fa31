package io.understudy.core.provider;

import io.understudy.core.wire.Usage;

/** An embeddings answer: the upstream's bytes and the usage read from them. */
public record Embeddings(byte[] bytes, Usage usage, String model) {
}
