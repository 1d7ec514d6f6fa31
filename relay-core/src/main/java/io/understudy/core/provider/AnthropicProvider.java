package io.understudy.core.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webclient.api.HttpClientResponse;
import io.understudy.core.Json;
import io.understudy.core.anthropic.AnthropicToOpenAiStream;
import io.understudy.core.anthropic.AnthropicTranslation;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Failures;
import io.understudy.core.server.Api;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An upstream that speaks Anthropic Messages. A Messages request goes as it came (only its model
 * may change) and its answer comes back as sent; a chat request is translated, and so is its answer.
 */
final class AnthropicProvider implements Provider {
    static final String API_VERSION = "2023-06-01";

    private final ProviderConfig config;
    private final HttpTransport transport;
    private final Clock clock;
    private final Map<HeaderName, String> headers;
    private final String messagesPath;
    private final String modelsPath;

    private AnthropicProvider(ProviderConfig config, HttpTransport transport, Clock clock, HeaderName keyHeader,
                              String keyPrefix, String messagesPath, String modelsPath) {
        this.config = config;
        this.transport = transport;
        this.clock = clock;
        this.messagesPath = messagesPath;
        this.modelsPath = modelsPath;
        Map<HeaderName, String> h = new LinkedHashMap<>();
        h.put(HeaderNames.CONTENT_TYPE, "application/json");
        h.put(HeaderNames.create("anthropic-version"), API_VERSION);
        config.apiKey().ifPresent(key -> h.put(keyHeader, keyPrefix + key.value()));
        this.headers = Map.copyOf(h);
    }

    private AnthropicProvider(AnthropicProvider base, Map<HeaderName, String> headers) {
        this.config = base.config;
        this.transport = base.transport;
        this.clock = base.clock;
        this.messagesPath = base.messagesPath;
        this.modelsPath = base.modelsPath;
        this.headers = Map.copyOf(headers);
    }

    @Override
    public AnthropicProvider withHeaders(Map<HeaderName, String> extra) {
        Map<HeaderName, String> merged = new LinkedHashMap<>(headers);
        merged.putAll(extra);
        return new AnthropicProvider(this, merged);
    }

    /** Anthropic's API: base {@code https://api.anthropic.com}, key in {@code x-api-key}. */
    static AnthropicProvider anthropic(ProviderConfig config, HttpTransport transport, Clock clock) {
        return new AnthropicProvider(config, transport, clock, HeaderNames.create("x-api-key"), "", "/v1/messages",
                "/v1/models");
    }

    /** The Messages endpoint of a gateway whose base is OpenAI-style ({@code …/v1}), keyed like its chat endpoint. */
    static AnthropicProvider messagesUnderOpenAiBase(ProviderConfig config, HttpTransport transport, Clock clock) {
        return new AnthropicProvider(config, transport, clock, HeaderNames.AUTHORIZATION, "Bearer ", "/messages",
                "/models");
    }

    @Override
    public ProviderConfig config() {
        return config;
    }

    @Override
    public ChatCompletion complete(Conversation request) {
        byte[] body = Dialects.asMessagesBytes(request, request.model(), config.name());
        try (HttpClientResponse response = transport.send(Method.POST, config.resolve(messagesPath), headers, body,
                config.readTimeout())) {
            byte[] bytes = transport.readBody(response, OpenAiProvider.MAX_BODY);
            JsonNode parsed;
            try {
                parsed = Json.parse(bytes);
            } catch (IOException e) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer is not complete JSON");
            }
            if (!(parsed instanceof ObjectNode message) || !message.has("content")) {
                throw Failures.brokenStream(transport.origin(), config.name(), "answer has no content");
            }
            Usage usage = Usage.fromAnthropic(message.get("usage")).orElse(Usage.ZERO);
            String model = message.path("model").asText(request.model());
            Map<String, String> upstreamHeaders = HttpTransport.understudyHeaders(response);
            if (request.dialect() == Api.ANTHROPIC) {
                return new ChatCompletion(message, bytes, usage, model, upstreamHeaders);
            }
            ObjectNode json = Dialects.chatAnswerAs(request.dialect(),
                    AnthropicTranslation.toOpenAiResponse(message, clock.instant().getEpochSecond()));
            return new ChatCompletion(json, Json.bytes(json), usage, model, upstreamHeaders);
        }
    }

    @Override
    public ChatStream stream(Conversation request) {
        byte[] body = Dialects.asMessagesBytes(request, request.model(), config.name());
        HttpClientResponse response = transport.send(Method.POST, config.resolve(messagesPath), headers, body,
                config.readTimeout());
        AnthropicToOpenAiStream reader = new AnthropicToOpenAiStream(config.name(), transport.origin(),
                clock.instant().getEpochSecond());
        return new EventChatStream(response, transport, config.name(), reader::translate, reader::finished, "message_stop");
    }

    @Override
    public Embeddings embed(EmbeddingsRequest request) {
        throw new FailureException(OpenAiProvider.unsupported(config.name(), "embeddings"));
    }

    /** Anthropic's {@code GET /v1/models} ({@code data[].id}) in OpenAI's list shape. */
    @Override
    public ObjectNode models() {
        try (HttpClientResponse response = transport.send(Method.GET, config.resolve(modelsPath), headers, null,
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
}
