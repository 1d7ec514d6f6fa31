package io.understudy.core.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

/** The API shape a client called, which decides the shape of errors and stream events. */
public enum Api {
    /** OpenAI Chat Completions (and embeddings, models): OpenAI's errors, chat chunks. */
    OPENAI,
    /** Anthropic Messages: Anthropic's errors and events. */
    ANTHROPIC,
    /** OpenAI Responses: OpenAI's errors, Responses events. */
    RESPONSES;

    private static final HeaderName ANTHROPIC_VERSION = HeaderNames.create("anthropic-version");

    /** {@code /v1/messages} is Anthropic's, {@code /v1/responses} OpenAI's Responses; everything else OpenAI's chat shape. */
    public static Api forPath(String path) {
        return path.startsWith("/v1/messages") ? ANTHROPIC : path.startsWith("/v1/responses") ? RESPONSES : OPENAI;
    }

    /** {@code GET /v1/models} is one path for both: Anthropic's SDKs send {@code anthropic-version}. */
    public static Api forModelList(ServerRequest req) {
        return req.headers().contains(ANTHROPIC_VERSION) ? ANTHROPIC : OPENAI;
    }
}
