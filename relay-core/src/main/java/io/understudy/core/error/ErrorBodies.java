package io.understudy.core.error;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

/** Renders a {@link Failure} as the error JSON each API's SDKs expect. */
public final class ErrorBodies {
    private ErrorBodies() {
    }

    /** {@code {"error":{"message","type","param","code"}}} as OpenAI sends it. */
    public static ObjectNode openAi(Failure failure) {
        ObjectNode error = Json.object();
        error.put("message", failure.message());
        error.put("type", failure.errorType());
        if (failure instanceof Failure.ClientError c && c.param() != null) {
            error.put("param", c.param());
        } else {
            error.putNull("param");
        }
        error.put("code", failure.errorCode());
        ObjectNode root = Json.object();
        root.set("error", error);
        return root;
    }

    /** {@code {"type":"error","error":{"type","message"}}} as Anthropic sends it. */
    public static ObjectNode anthropic(Failure failure) {
        ObjectNode error = Json.object();
        error.put("type", anthropicType(failure));
        error.put("message", failure.message());
        ObjectNode root = Json.object();
        root.put("type", "error");
        root.set("error", error);
        return root;
    }

    static String anthropicType(Failure failure) {
        return switch (failure) {
            case Failure.ClientError c -> switch (c.status()) {
                case 401 -> "authentication_error";
                case 403 -> "permission_error";
                case 404 -> "not_found_error";
                case 413 -> "request_too_large";
                default -> "invalid_request_error";
            };
            case Failure.RateLimited ignored -> "rate_limit_error";
            case Failure.Retryable r -> r.status() == 529 || r.status() == 503 ? "overloaded_error" : "api_error";
            case Failure.Unavailable ignored -> "api_error";
        };
    }
}
