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

    /** 405 for a known path called with the wrong method, else 404; in the shape of the API the path belongs to. */
    public static void notFound(io.helidon.webserver.http.ServerRequest req, ServerResponse res, java.util.Set<String> knownPaths) {
        String path = req.path().path();
        String method = req.prologue().method().text();
        Failure failure = knownPaths.contains(path)
                ? new Failure.ClientError(Origin.LOCAL, "local", 405, "invalid_request_error", "method_not_allowed", null,
                "Method " + method + " is not allowed on " + path)
                : new Failure.ClientError(Origin.LOCAL, "local", 404, "invalid_request_error", "unknown_url", null,
                "Unknown request URL: " + method + " " + path);
        send(res, Api.forPath(path), failure, null);
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
