package io.understudy.core.provider;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webclient.api.HttpClientResponse;
import io.understudy.core.Json;
import io.understudy.core.anthropic.AnthropicToOpenAiStream;
import io.understudy.core.anthropic.AnthropicTranslation;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Failures;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseReader;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;

/** Anthropic Messages upstream, seen through OpenAI's shape. */
final class AnthropicProvider implements Provider {
    static final String API_VERSION = "2023-06-01";

    private final ProviderConfig config;
    private final HttpTransport transport;
    private final Clock clock;
    private final Map<HeaderName, String> headers;

    AnthropicProvider(ProviderConfig config, HttpTransport transport, Clock clock) {
        this.config = config;
        this.transport = transport;
        this.clock = clock;
        Map<HeaderName, String> h = new LinkedHashMap<>();
        h.put(HeaderNames.CONTENT_TYPE, "application/json");
        h.put(HeaderNames.create("anthropic-version"), API_VERSION);
        config.apiKey().ifPresent(key -> h.put(HeaderNames.create("x-api-key"), key.value()));
        this.headers = Map.copyOf(h);
    }

    @Override
    public ProviderConfig config() {
        return config;
    }

    @Override
    public ChatCompletion complete(ChatRequest request) {
        byte[] body = Json.bytes(AnthropicTranslation.toAnthropicRequest(request, request.model()));
        try (HttpClientResponse response = transport.send(Method.POST, config.resolve("/v1/messages"), headers, body,
                config.readTimeout())) {
            byte[] bytes = transport.readBody(response, OpenAiProvider.MAX_BODY);
            JsonNode message;
            try {
                message = Json.parse(bytes);
            } catch (IOException e) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer is not complete JSON");
            }
            if (message == null || !message.has("content")) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer has no content");
            }
            var json = AnthropicTranslation.toOpenAiResponse(message, clock.instant().getEpochSecond());
            Usage usage = Usage.fromAnthropic(message.get("usage")).orElse(Usage.ZERO);
            return new ChatCompletion(json, Json.bytes(json), usage, message.path("model").asText(request.model()),
                    HttpTransport.understudyHeaders(response));
        }
    }

    @Override
    public ChatStream stream(ChatRequest request) {
        byte[] body = Json.bytes(AnthropicTranslation.toAnthropicRequest(request, request.model()));
        HttpClientResponse response = transport.send(Method.POST, config.resolve("/v1/messages"), headers, body,
                config.readTimeout());
        return new AnthropicChatStream(response, new AnthropicToOpenAiStream(config.name(), clock.instant().getEpochSecond()));
    }

    @Override
    public Embeddings embed(EmbeddingsRequest request) {
        throw new FailureException(OpenAiProvider.unsupported(config.name(), "embeddings"));
    }

    /** Anthropic's {@code GET /v1/models} ({@code data[].id}) in OpenAI's list shape. */
    @Override
    public com.fasterxml.jackson.databind.node.ObjectNode models() {
        try (HttpClientResponse response = transport.send(Method.GET, config.resolve("/v1/models"), headers, null,
                config.readTimeout())) {
            JsonNode json;
            try {
                json = Json.parse(transport.readBody(response, OpenAiProvider.MAX_BODY));
            } catch (IOException e) {
                throw Failures.brokenStream(transport.origin(), config.name(), "model list is not JSON");
            }
            var out = Json.object().put("object", "list");
            var data = out.putArray("data");
            for (JsonNode m : json.path("data")) {
                data.addObject().put("id", m.path("id").asText()).put("object", "model").put("owned_by", "anthropic");
            }
            return out;
        }
    }

    private final class AnthropicChatStream implements ChatStream {
        private final HttpClientResponse response;
        private final SseReader reader;
        private final AnthropicToOpenAiStream translator;
        private final ArrayDeque<StreamChunk> ready = new ArrayDeque<>();

        AnthropicChatStream(HttpClientResponse response, AnthropicToOpenAiStream translator) {
            this.response = response;
            this.reader = new SseReader(response.inputStream());
            this.translator = translator;
        }

        @Override
        public StreamChunk next() {
            while (ready.isEmpty()) {
                if (translator.finished()) {
                    return null;
                }
                SseEvent event;
                try {
                    event = reader.next();
                } catch (IOException | RuntimeException e) {
                    throw Failures.midStream(transport.origin(), config.name(), e);
                }
                if (event == null) {
                    throw Failures.brokenStream(transport.origin(), config.name(), "ended before message_stop");
                }
                ready.addAll(translator.translate(event));
            }
            return ready.poll();
        }

        @Override
        public void close() {
            try {
                response.close();
            } catch (RuntimeException ignored) {
                // closing a broken connection may throw; it is closed either way
            }
        }
    }
}
