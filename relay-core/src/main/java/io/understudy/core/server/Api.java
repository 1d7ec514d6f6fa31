package io.understudy.core.server;

/** The API shape a client called, which decides the shape of errors and stream events. */
public enum Api {
    OPENAI, ANTHROPIC;

    /** {@code /v1/messages} is Anthropic's; everything else speaks OpenAI's shape. */
    public static Api forPath(String path) {
        return path.startsWith("/v1/messages") ? ANTHROPIC : OPENAI;
    }
}
