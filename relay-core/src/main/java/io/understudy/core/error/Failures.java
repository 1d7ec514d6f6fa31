package io.understudy.core.error;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;

/** Classifies upstream answers and transport errors into the {@link Failure} taxonomy. */
public final class Failures {
    private static final int MAX_MESSAGE = 500;

    private Failures() {
    }

    /**
     * Classifies a non-2xx HTTP answer. The body may be in OpenAI's or Anthropic's error shape, or anything.
     */
    public static Failure fromHttp(Origin origin, String upstream, int status, Optional<String> retryAfter,
                                   byte[] body, Clock clock) {
        ErrorDetail detail = ErrorDetail.parse(body);
        String message = detail.message().isBlank() ? "upstream answered HTTP " + status : detail.message();
        if (status == 429) {
            return new Failure.RateLimited(origin, upstream, retryAfter.flatMap(v -> parseRetryAfter(v, clock)), message);
        }
        if (status == 408) {
            return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.TIMEOUT, message);
        }
        if (status >= 400 && status < 500) {
            String type = detail.type().isBlank() ? defaultType(status) : detail.type();
            String code = detail.code().isBlank() ? type : detail.code();
            return new Failure.ClientError(origin, upstream, status, type, code, detail.param(), message);
        }
        if (status >= 500 && "upstream_unavailable".equals(detail.type())) {
            // an Understudy relay passing on a transport failure (reset, timeout...): keep what it was,
            // so the caller does not take it for a transient 5xx the upstream answered
            for (Failure.UnavailableKind kind : Failure.UnavailableKind.values()) {
                if (kind.code().equals(detail.code())) {
                    return new Failure.Unavailable(origin, upstream, kind, message);
                }
            }
        }
        return new Failure.Retryable(origin, upstream, status, "upstream_http_" + status, message);
    }

    /** Classifies an exception raised while talking to an upstream. */
    public static Failure fromThrowable(Origin origin, String upstream, Throwable error) {
        Throwable cause = error;
        for (int depth = 0; cause != null && depth < 10; depth++, cause = cause.getCause()) {
            if (cause instanceof FailureException fe) {
                return fe.failure();
            }
            if (cause instanceof ConnectException || cause instanceof NoRouteToHostException
                    || cause instanceof UnknownHostException) {
                return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.CONNECT_REFUSED,
                        "cannot connect to " + upstream);
            }
            if (cause instanceof SocketTimeoutException || cause instanceof HttpTimeoutException
                    || cause instanceof InterruptedIOException) {
                return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.TIMEOUT,
                        "timed out waiting for " + upstream);
            }
        }
        String text = String.valueOf(error.getMessage()).toLowerCase(Locale.ROOT);
        if (text.contains("timed out") || text.contains("timeout")) {
            return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.TIMEOUT,
                    "timed out waiting for " + upstream);
        }
        if (text.contains("connection refused")) {
            return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.CONNECT_REFUSED,
                    "cannot connect to " + upstream);
        }
        return new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.RESET,
                "connection to " + upstream + " failed (" + error.getClass().getSimpleName() + ")");
    }

    /** A read that failed after the answer began: a stall (timeout) or a cut connection. */
    public static FailureException midStream(Origin origin, String upstream, Throwable error) {
        Failure f = fromThrowable(origin, upstream, error);
        if (f instanceof Failure.Unavailable u && u.kind() == Failure.UnavailableKind.TIMEOUT) {
            return new FailureException(new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.TIMEOUT,
                    "stream from " + upstream + " stalled: no data within the read timeout"));
        }
        if (f instanceof Failure.Unavailable) {
            return brokenStream(origin, upstream, "connection closed mid-answer");
        }
        return new FailureException(f);
    }

    public static FailureException brokenStream(Origin origin, String upstream, String why) {
        return new FailureException(new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.BROKEN_STREAM,
                "stream from " + upstream + " broke: " + why));
    }

    /** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
    public static Optional<Duration> parseRetryAfter(String value, Clock clock) {
        String v = value.trim();
        try {
            double seconds = Double.parseDouble(v);
            if (seconds < 0 || Double.isNaN(seconds) || seconds > 86_400) {
                return Optional.empty();
            }
            return Optional.of(Duration.ofMillis((long) (seconds * 1000)));
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(clock.instant(), at.toInstant());
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (DateTimeParseException notDate) {
                return Optional.empty();
            }
        }
    }

    private static String defaultType(int status) {
        return switch (status) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            default -> "invalid_request_error";
        };
    }

    /** The useful parts of an error body, in either vendor's shape. */
    record ErrorDetail(String type, String code, String param, String message) {
        static ErrorDetail parse(byte[] body) {
            if (body == null || body.length == 0) {
                return new ErrorDetail("", "", null, "");
            }
            try {
                JsonNode root = Json.parse(body);
                JsonNode error = root.path("error");
                if (error.isObject()) {
                    // OpenAI: {"error":{"message","type","param","code"}}; Anthropic: {"type":"error","error":{"type","message"}}
                    return new ErrorDetail(error.path("type").asText(""),
                            error.path("code").isValueNode() ? error.path("code").asText("") : "",
                            error.path("param").isTextual() ? error.path("param").asText() : null,
                            clip(error.path("message").asText("")));
                }
                if (error.isTextual()) {
                    return new ErrorDetail("", "", null, clip(error.asText()));
                }
                return new ErrorDetail("", "", null, clip(root.path("message").asText("")));
            } catch (IOException notJson) {
                return new ErrorDetail("", "", null, clip(new String(body, StandardCharsets.UTF_8)));
            }
        }

        private static String clip(String s) {
            return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "...";
        }
    }
}
