package io.understudy.core.server;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.Secret;

import java.util.List;
import java.util.Optional;

/** Checks the caller's key: {@code Authorization: Bearer <key>} (OpenAI SDKs) or {@code x-api-key} (Anthropic SDKs). */
public final class ClientAuth {
    private final List<Secret> keys;

    public ClientAuth(List<Secret> keys) {
        this.keys = List.copyOf(keys);
    }

    public boolean enabled() {
        return !keys.isEmpty();
    }

    /** Empty when the caller may proceed; otherwise the 401 to send. */
    public Optional<Failure> check(Optional<String> authorization, Optional<String> apiKeyHeader) {
        if (keys.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> presented = authorization
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim())
                .or(() -> apiKeyHeader.map(String::trim));
        if (presented.isEmpty() || presented.get().isEmpty()) {
            return Optional.of(unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."));
        }
        boolean ok = false;
        for (Secret key : keys) { // no early exit: time does not tell which key nearly matched
            ok |= key.matches(presented.get());
        }
        return ok ? Optional.empty() : Optional.of(unauthorized("Incorrect API key provided."));
    }

    private static Failure unauthorized(String message) {
        return new Failure.ClientError(Origin.LOCAL, "local", 401, "invalid_request_error", "invalid_api_key", null, message);
    }
}
