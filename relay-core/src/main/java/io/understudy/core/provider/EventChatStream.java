package io.understudy.core.provider;

import io.helidon.webclient.api.HttpClientResponse;
import io.understudy.core.error.Failures;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseReader;
import io.understudy.core.wire.StreamChunk;

import java.io.IOException;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * A stream of named events (Anthropic Messages, OpenAI Responses) read as one chunk per event by
 * its dialect's reader; it ends at the event that finishes the answer, and an upstream that
 * closes before that event broke the stream.
 */
final class EventChatStream implements ChatStream {
    private final HttpClientResponse response;
    private final HttpTransport transport;
    private final String upstream;
    private final SseReader reader;
    private final Function<SseEvent, StreamChunk> read;
    private final BooleanSupplier finished;
    private final String lastEvent;
    private final Map<String, String> upstreamHeaders;

    EventChatStream(HttpClientResponse response, HttpTransport transport, String upstream,
                    Function<SseEvent, StreamChunk> read, BooleanSupplier finished, String lastEvent) {
        this.response = response;
        this.transport = transport;
        this.upstream = upstream;
        this.reader = new SseReader(transport.streamBody(response));
        this.read = read;
        this.finished = finished;
        this.lastEvent = lastEvent;
        this.upstreamHeaders = HttpTransport.understudyHeaders(response);
    }

    @Override
    public Map<String, String> upstreamHeaders() {
        return upstreamHeaders;
    }

    @Override
    public StreamChunk next() {
        if (finished.getAsBoolean()) {
            return null;
        }
        SseEvent event;
        try {
            event = reader.next();
        } catch (IOException | RuntimeException e) {
            throw Failures.midStream(transport.origin(), upstream, e);
        }
        if (event == null) {
            throw Failures.brokenStream(transport.origin(), upstream, "ended before " + lastEvent);
        }
        return read.apply(event);
    }

    @Override
    public void close() {
        transport.closeStream(response, finished.getAsBoolean()); // an ended stream's connection goes back to the pool
    }
}
