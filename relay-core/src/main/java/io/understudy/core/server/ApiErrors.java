package io.understudy.core.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.error.ErrorBodies;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.HttpTransport;

/** Sends a {@link Failure} to a client: status, Retry-After, origin marker and an API-shaped body. */
public final class ApiErrors {
    private ApiErrors() {
    }

    public static void send(ServerResponse res, Api api, Failure failure, String requestId) {
        if (res.isSent()) {
            return;
        }
        res.status(failure.httpStatus());
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        if (requestId != null) {
            res.header(HeaderNames.create("x-request-id"), requestId);
        }
        if (failure.origin() == Origin.PROVIDER) {
            // tells whoever is in front of us that the provider failed, not this hop
            res.header(HttpTransport.ERROR_ORIGIN, "provider");
        }
        if (failure instanceof Failure.RateLimited limited) {
            limited.retryAfter().ifPresent(d -> res.header(HeaderNames.RETRY_AFTER,
                    String.valueOf(Math.max(1, (d.toMillis() + 999) / 1000))));
        }
        ObjectNode body = api == Api.ANTHROPIC ? ErrorBodies.anthropic(failure) : ErrorBodies.openAi(failure);
        res.send(Json.bytes(body));
    }
}
