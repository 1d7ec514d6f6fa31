package io.understudy.core.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.wire.Usage;

import java.util.Map;

/**
 * A whole (non-streamed) answer in the dialect it was asked in: an OpenAI chat completion or an
 * Anthropic message. {@code bytes} is what goes to the client: the upstream's own bytes when no
 * translation was needed. {@code upstreamHeaders} holds the upstream's {@code x-understudy-*}
 * headers (a relay's provider, model, cost, epoch).
 */
public record ChatCompletion(ObjectNode json, byte[] bytes, Usage usage, String model, Map<String, String> upstreamHeaders) {
    public ChatCompletion {
        upstreamHeaders = Map.copyOf(upstreamHeaders);
    }
}
