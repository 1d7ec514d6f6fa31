package io.understudy.core.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.wire.Usage;

/**
 * A whole (non-streamed) chat completion in OpenAI's shape. {@code bytes} is what goes to the
 * client: the upstream's own bytes when no translation was needed.
 */
public record ChatCompletion(ObjectNode json, byte[] bytes, Usage usage, String model) {
}
