package io.understudy.core.error;

import java.time.Duration;
import java.util.Optional;

/**
 * The one error taxonomy of Understudy. Every upstream or local failure is one of these,
 * and {@link #httpStatus()} is the single mapping to a status code.
 *
 * <ul>
 *   <li>{@link ClientError}: the request itself is wrong; never retried, never failed over.</li>
 *   <li>{@link Retryable}: the upstream failed (5xx, broken stream); another attempt may work.</li>
 *   <li>{@link RateLimited}: the upstream asked us to slow down, maybe saying for how long.</li>
 *   <li>{@link Unavailable}: no usable answer at the transport level (refused, reset, timeout).</li>
 * </ul>
 */
public sealed interface Failure {

    Origin origin();

    /** Name of the upstream (provider or relay) that failed, or "local". */
    String upstream();

    String message();

    default int httpStatus() {
        return switch (this) {
            case ClientError c -> c.status();
            case Retryable r -> r.status() >= 500 && r.status() <= 599 ? r.status() : 502;
            case RateLimited ignored -> 429;
            case Unavailable u -> u.kind() == UnavailableKind.TIMEOUT ? 504 : 502;
        };
    }

    /** OpenAI-style error type string for this failure. */
    default String errorType() {
        return switch (this) {
            case ClientError c -> c.type();
            case Retryable ignored -> "upstream_error";
            case RateLimited ignored -> "rate_limit_error";
            case Unavailable ignored -> "upstream_unavailable";
        };
    }

    default String errorCode() {
        return switch (this) {
            case ClientError c -> c.code();
            case Retryable r -> r.code();
            case RateLimited ignored -> "rate_limited";
            case Unavailable u -> u.kind().code();
        };
    }

    default boolean retryable() {
        return !(this instanceof ClientError);
    }

    /** A request that is wrong in itself (400, 401, 403, 404, 413, 415, 422). */
    record ClientError(Origin origin, String upstream, int status, String type, String code, String param,
                       String message) implements Failure {
        public ClientError {
            if (status < 400 || status > 499) {
                throw new IllegalArgumentException("client error status must be 4xx: " + status);
            }
        }

        public static ClientError invalid(String param, String message) {
            return new ClientError(Origin.LOCAL, "local", 400, "invalid_request_error", "invalid_request", param, message);
        }
    }

    record Retryable(Origin origin, String upstream, int status, String code, String message) implements Failure {
    }

    /**
     * {@code model}: the provider's own name of the model it limited, when a relay passing the limit on
     * says so; a Retry-After binds that provider and model on every path to them.
     */
    record RateLimited(Origin origin, String upstream, Optional<Duration> retryAfter, String message,
                       Optional<String> model) implements Failure {
        public RateLimited(Origin origin, String upstream, Optional<Duration> retryAfter, String message) {
            this(origin, upstream, retryAfter, message, Optional.empty());
        }
    }

    record Unavailable(Origin origin, String upstream, UnavailableKind kind, String message) implements Failure {
    }

    enum UnavailableKind {
        CONNECT_REFUSED("connect_refused"),
        RESET("connection_reset"),
        TIMEOUT("timeout"),
        BROKEN_STREAM("stream_broken"),
        /** Abandoned because the upstream was marked down by health probes while waiting. */
        MARKED_DOWN("marked_down");

        private final String code;

        UnavailableKind(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }
    }
}
