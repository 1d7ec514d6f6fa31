package io.understudy.core.sse;

/**
 * One server-sent event. {@code event} is null when the stream did not name one
 * (OpenAI streams never do; Anthropic's always do).
 */
public record SseEvent(String event, String data) {
    public static final String DONE = "[DONE]";

    public static SseEvent data(String data) {
        return new SseEvent(null, data);
    }

    public static SseEvent named(String event, String data) {
        return new SseEvent(event, data);
    }

    public boolean isDone() {
        return DONE.equals(data);
    }
}
