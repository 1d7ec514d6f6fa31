package io.understudy.sim.http;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** One parsed HTTP/1.1 request. Header names are lower-case. */
public record SimRequest(String method, String path, Map<String, String> headers, byte[] body, boolean keepAlive) {
    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }
}
