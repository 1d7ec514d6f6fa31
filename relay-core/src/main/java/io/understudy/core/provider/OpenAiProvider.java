package io.understudy.core.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webclient.api.HttpClientResponse;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Failures;
import io.understudy.core.error.Origin;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.sse.SseReader;
import io.understudy.core.responses.ResponsesToChatStream;
import io.understudy.core.server.Api;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.ResponsesRequest;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Any OpenAI-compatible upstream. Bodies pass through; only the model field may be rewritten. */
final class OpenAiProvider implements Provider {
    static final int MAX_BODY = 64 * 1024 * 1024;

    private final ProviderConfig config;
    private final HttpTransport transport;
    private final Map<HeaderName, String> headers;

    OpenAiProvider(ProviderConfig config, HttpTransport transport) {
        this(config, transport, Map.of());
    }

    private OpenAiProvider(ProviderConfig config, HttpTransport transport, Map<HeaderName, String> extra) {
        this.config = config;
        this.transport = transport;
        Map<HeaderName, String> h = new LinkedHashMap<>(extra);
        h.put(HeaderNames.CONTENT_TYPE, "application/json");
        config.apiKey().ifPresent(key -> h.put(HeaderNames.AUTHORIZATION, "Bearer " + key.value()));
        this.headers = Map.copyOf(h);
    }

    @Override
    public OpenAiProvider withHeaders(Map<HeaderName, String> extra) {
        Map<HeaderName, String> merged = new LinkedHashMap<>(headers);
        merged.putAll(extra);
        return new OpenAiProvider(config, transport, merged);
    }

    @Override
    public ProviderConfig config() {
        return config;
    }

    /**
     * A chat request goes as it came. A Responses request goes to {@code /responses} when this
     * upstream serves it; else it is translated to chat here, as a Messages request is, and the
     * answer translated back.
     */
    @Override
    public ChatCompletion complete(Conversation request) {
        if (request instanceof ResponsesRequest responses && config.responsesApi()) {
            return completeResponses(responses);
        }
        ChatRequest chat = Dialects.asChat(request, config.name());
        try (HttpClientResponse response = transport.send(Method.POST, config.resolve("/chat/completions"), headers,
                chat.toBytes(), config.readTimeout())) {
            byte[] bytes = transport.readBody(response, MAX_BODY);
            ObjectNode json = parseObject(bytes);
            if (!json.has("choices")) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer has no choices");
            }
            Usage usage = Usage.fromOpenAi(json.get("usage")).orElse(Usage.ZERO);
            String model = json.path("model").asText(request.model());
            Map<String, String> upstreamHeaders = HttpTransport.understudyHeaders(response);
            if (request.dialect() != Api.OPENAI) {
                ObjectNode answer = Dialects.chatAnswerAs(request.dialect(), json);
                return new ChatCompletion(answer, Json.bytes(answer), usage, model, upstreamHeaders);
            }
            return new ChatCompletion(json, bytes, usage, model, upstreamHeaders);
        }
    }

    private ChatCompletion completeResponses(ResponsesRequest request) {
        try (HttpClientResponse response = transport.send(Method.POST, config.resolve("/responses"), headers,
                request.toBytes(), config.readTimeout())) {
            byte[] bytes = transport.readBody(response, MAX_BODY);
            ObjectNode json = parseObject(bytes);
            if (!json.has("output")) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer has no output");
            }
            Usage usage = Usage.fromResponses(json.get("usage")).orElse(Usage.ZERO);
            return new ChatCompletion(json, bytes, usage, json.path("model").asText(request.model()),
                    HttpTransport.understudyHeaders(response));
        }
    }

    /** As {@link #complete}: chunks of a translated request reach its client translated by the server's stream. */
    @Override
    public ChatStream stream(Conversation request) {
        if (request instanceof ResponsesRequest responses && config.responsesApi()) {
            HttpClientResponse response = transport.send(Method.POST, config.resolve("/responses"), headers,
                    responses.toBytes(), config.readTimeout());
            ResponsesToChatStream reader = new ResponsesToChatStream(config.name(), transport.origin(),
                    transport.clock().instant().getEpochSecond());
            return new EventChatStream(response, transport, config.name(), reader::translate, reader::finished,
                    "response.completed");
        }
        HttpClientResponse response = transport.send(Method.POST, config.resolve("/chat/completions"), headers,
                Dialects.asChat(request, config.name()).toBytes(), config.readTimeout());
        return new OpenAiChatStream(response, transport, config.name());
    }

    @Override
    public Embeddings embed(EmbeddingsRequest request) {
        try (HttpClientResponse response = transport.send(Method.POST, config.resolve("/embeddings"), headers,
                request.toBytes(), config.readTimeout())) {
            byte[] bytes = transport.readBody(response, MAX_BODY);
            ObjectNode json = parseObject(bytes);
            Usage usage = Usage.fromOpenAi(json.get("usage")).orElse(Usage.ZERO);
            return new Embeddings(bytes, usage, json.path("model").asText(request.model()),
                    HttpTransport.understudyHeaders(response));
        }
    }

    @Override
    public ObjectNode models() {
        try (HttpClientResponse response = transport.send(Method.GET, config.resolve("/models"), headers, null,
                config.readTimeout())) {
            ObjectNode json = parseObject(transport.readBody(response, MAX_BODY));
            if (!json.path("data").isArray()) {
                throw Failures.brokenStream(transport.origin(), config.name(), "model list has no data");
            }
            return json;
        }
    }

    private ObjectNode parseObject(byte[] bytes) {
        try {
            JsonNode node = Json.parse(bytes);
            if (node instanceof ObjectNode object) {
                return object;
            }
        } catch (IOException e) {
            // fall through: a cut or garbled body is a broken answer, not a client error
        }
        throw Failures.brokenStream(transport.origin(), config.name(), "answer is not complete JSON");
    }

    /** Reads OpenAI SSE chunks; a stream that ends before a finish reason is reported as broken. */
    static final class OpenAiChatStream implements ChatStream {
        private final HttpClientResponse response;
        private final HttpTransport transport;
        private final String upstream;
        private final SseReader reader;
        private final Map<String, String> upstreamHeaders;
        private boolean sawFinish;
        private boolean ended;

        OpenAiChatStream(HttpClientResponse response, HttpTransport transport, String upstream) {
            this.response = response;
            this.transport = transport;
            this.upstream = upstream;
            this.reader = new SseReader(transport.streamBody(response));
            this.upstreamHeaders = HttpTransport.understudyHeaders(response);
        }

        @Override
        public Map<String, String> upstreamHeaders() {
            return upstreamHeaders;
        }

        @Override
        public StreamChunk next() {
            while (!ended) {
                SseEvent event;
                try {
                    event = reader.next();
                } catch (IOException | RuntimeException e) {
                    throw Failures.midStream(transport.origin(), upstream, e);
                }
                if (event == null) {
                    if (sawFinish) {
                        ended = true; // no [DONE], but the answer was complete: finalise now
                        return null;
                    }
                    throw Failures.brokenStream(transport.origin(), upstream, "ended before the answer was complete");
                }
                if (event.isDone()) {
                    ended = true;
                    return null;
                }
                JsonNode node;
                try {
                    node = Json.parse(event.data());
                } catch (IOException e) {
                    throw Failures.brokenStream(transport.origin(), upstream, "malformed chunk");
                }
                if (!(node instanceof ObjectNode json)) {
                    throw Failures.brokenStream(transport.origin(), upstream, "malformed chunk");
                }
                if (json.has("error")) {
                    Origin blamed = "provider".equals(json.path("error").path("origin").asText()) ? Origin.PROVIDER
                            : transport.origin();
                    throw new FailureException(Failures.fromHttp(blamed, upstream, 502,
                            java.util.Optional.empty(), event.data().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            transport.clock()));
                }
                StreamChunk chunk = new StreamChunk(event.data(), json);
                if (chunk.finishReason().isPresent() && !sawFinish) {
                    sawFinish = true;
                    transport.streamEnding(response);
                }
                if (chunk.isUsageOnly() && sawFinish) {
                    ended = true; // the usage chunk is always last: no need to wait for [DONE]
                }
                return chunk;
            }
            return null;
        }

        @Override
        public void close() {
            transport.closeStream(response, ended); // an ended stream's connection goes back to the pool
        }
    }

    static Failure unsupported(String upstream, String what) {
        return new Failure.ClientError(io.understudy.core.error.Origin.LOCAL, upstream, 400, "invalid_request_error",
                "unsupported", null, "provider '" + upstream + "' does not offer " + what);
    }
}
