package io.understudy.core.provider;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One upstream that speaks a provider API.
 *
 * @param name           stable name used in routes, metrics and response headers
 * @param kind           wire protocol
 * @param baseUrl        e.g. {@code https://api.openai.com/v1} or {@code https://api.anthropic.com}
 * @param apiKey         credential, if the upstream needs one
 * @param connectTimeout time allowed to open a connection
 * @param readTimeout    longest silence allowed while reading (also the wait for response headers)
 * @param responsesApi   an OpenAI-compatible upstream serves {@code /responses} itself; when false,
 *                       Responses requests are translated to chat for it
 * @param tags           compliance facts about it ({@code region: eu}, {@code retention: zero}) that a
 *                       request's {@link io.understudy.core.routing.Requirement} is checked against
 */
public record ProviderConfig(String name, ProviderKind kind, URI baseUrl, Optional<Secret> apiKey,
                             Duration connectTimeout, Duration readTimeout, boolean responsesApi, Map<String, String> tags) {
    /** An upstream without tags: it meets no requirement. */
    public ProviderConfig(String name, ProviderKind kind, URI baseUrl, Optional<Secret> apiKey, Duration connectTimeout,
                          Duration readTimeout, boolean responsesApi) {
        this(name, kind, baseUrl, apiKey, connectTimeout, readTimeout, responsesApi, Map.of());
    }

    /** An upstream that serves the Responses API if it speaks OpenAI's. */
    public ProviderConfig(String name, ProviderKind kind, URI baseUrl, Optional<Secret> apiKey, Duration connectTimeout,
                          Duration readTimeout) {
        this(name, kind, baseUrl, apiKey, connectTimeout, readTimeout, true);
    }

    public ProviderConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(baseUrl, "baseUrl");
        Objects.requireNonNull(apiKey, "apiKey");
        tags = Map.copyOf(tags);
        if (name.isBlank()) {
            throw new IllegalArgumentException("provider name must not be blank");
        }
        if (!("http".equals(baseUrl.getScheme()) || "https".equals(baseUrl.getScheme())) || baseUrl.getHost() == null) {
            throw new IllegalArgumentException("provider '" + name + "': base-url must be an http(s) URL, got " + baseUrl);
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero() || readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("provider '" + name + "': timeouts must be positive");
        }
        String url = baseUrl.toString();
        if (url.endsWith("/")) {
            baseUrl = URI.create(url.substring(0, url.length() - 1));
        }
    }

    public URI resolve(String path) {
        return URI.create(baseUrl + path);
    }
}
