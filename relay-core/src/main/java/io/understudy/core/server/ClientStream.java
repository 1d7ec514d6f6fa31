package io.understudy.core.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.anthropic.OpenAiToAnthropicStream;
import io.understudy.core.responses.ChatToResponsesStream;
import io.understudy.core.error.ErrorBodies;
import io.understudy.core.error.Failure;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseWriter;
import io.understudy.core.wire.StreamChunk;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The stream a client receives, in the shape of the API it called. Chunks arrive in OpenAI's shape
 * and are written (and flushed) one by one; for {@code /v1/messages} and {@code /v1/responses} they
 * are sent as the events they came from when the upstream spoke that API, else translated.
 * A stream ends either {@link #complete completely} or with an in-band {@link #fail error event}:
 * never silently.
 */
public final class ClientStream {
    private final ServerResponse response;
    private final Api api;
    private final boolean clientWantsUsage;
    private final OpenAiToAnthropicStream toAnthropic;
    private final ChatToResponsesStream toResponses;
    private OutputStream out;
    private SseWriter writer;

    public ClientStream(ServerResponse response, Api api, String requestedModel, boolean clientWantsUsage) {
        this.response = response;
        this.api = api;
        this.clientWantsUsage = clientWantsUsage;
        this.toAnthropic = api == Api.ANTHROPIC ? new OpenAiToAnthropicStream(requestedModel) : null;
        this.toResponses = api == Api.RESPONSES
                ? new ChatToResponsesStream(requestedModel, java.time.Instant.now().getEpochSecond()) : null;
    }

    /** Commits status 200 and the event-stream headers; call after setting any other header. */
    public void open() {
        response.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        out = response.outputStream();
        writer = new SseWriter(out);
    }

    public boolean opened() {
        return out != null;
    }

    /** Writes one chunk; throws {@link IOException} (or a runtime exception) when the client is gone. */
    public void write(StreamChunk chunk) throws IOException {
        if (toAnthropic != null) {
            for (SseEvent event : toAnthropic.accept(chunk)) {
                writer.write(event);
            }
        } else if (toResponses != null) {
            for (SseEvent event : toResponses.accept(chunk)) {
                writer.write(event);
            }
        } else if (!chunk.isCarrier() && (clientWantsUsage || !chunk.isUsageOnly())) {
            writer.write(SseEvent.data(chunk.data()));
        }
    }

    /** Ends a complete answer: an optional SSE comment (ignored by SDKs), then [DONE] or message_stop. */
    public void complete(String comment) throws IOException {
        if (comment != null) {
            out.write((": " + comment + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
        if (toAnthropic != null) {
            for (SseEvent event : toAnthropic.finish()) {
                writer.write(event);
            }
        } else if (toResponses != null) {
            for (SseEvent event : toResponses.finish()) {
                writer.write(event);
            }
        } else {
            writer.write(SseEvent.data(SseEvent.DONE));
        }
        out.close();
    }

    /** Ends the stream with an error event in the API's own format (response.failed for Responses) and no end marker. */
    public void fail(Failure failure) throws IOException {
        var body = toAnthropic != null ? ErrorBodies.anthropic(failure) : ErrorBodies.openAi(failure);
        if (failure.origin() == io.understudy.core.error.Origin.PROVIDER) {
            // the in-band twin of the x-understudy-error-origin header: an agent must not blame this relay
            ((com.fasterxml.jackson.databind.node.ObjectNode) body.get("error")).put("origin", "provider");
        }
        if (toAnthropic != null) {
            writer.write(SseEvent.named("error", Json.text(body)));
        } else if (toResponses != null) {
            for (SseEvent event : toResponses.failed(body.get("error"))) {
                writer.write(event);
            }
        } else {
            writer.write(SseEvent.data(Json.text(body)));
        }
        out.close();
    }
}
