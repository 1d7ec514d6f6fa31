package io.understudy.core.wire;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.server.Api;

/**
 * A request for a model's answer, in the dialect its client spoke: OpenAI Chat Completions,
 * Anthropic Messages or OpenAI Responses. It travels in that dialect as far as it can; only a provider that speaks the
 * other one translates it (see {@link io.understudy.core.provider.Provider}). The body is kept as
 * a tree, so fields the code does not model reach the provider untouched.
 */
public sealed interface Conversation permits ChatRequest, MessagesRequest, ResponsesRequest {
    ObjectNode body();

    /**
     * The bytes {@link #body()} was parsed from, edited along with it by {@link #withModel} and
     * {@link #withStreamUsage} where that could be done on the bytes; null once the tree was built
     * or changed here in another way. What goes upstream is these bytes when there are any: a hop
     * that neither translates nor rewrites passes the client's body on as it came.
     */
    byte[] received();

    Api dialect();

    default String model() {
        return body().get("model").asText();
    }

    default boolean stream() {
        return body().path("stream").asBoolean(false);
    }

    /** A copy aimed at another model; the original is not changed. */
    Conversation withModel(String model);

    /** A copy whose stream reports usage at its end (relays need usage to price); Messages streams always do. */
    Conversation withStreamUsage();

    /** A copy ending with {@code text} as the assistant's turn, for a provider to continue (a prefill). */
    Conversation withAssistantPrefill(String text);

    default byte[] toBytes() {
        byte[] received = received();
        return received != null ? received : Json.bytes(body());
    }
}
