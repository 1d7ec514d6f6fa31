package io.understudy.core.error;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FailuresTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC);

    private static Failure http(int status, String body) {
        return Failures.fromHttp(Origin.PROVIDER, "p", status, Optional.empty(), body.getBytes(StandardCharsets.UTF_8), CLOCK);
    }

    @ParameterizedTest(name = "HTTP {0} is a client error, never retried")
    @CsvSource({"400", "401", "403", "404", "413", "422"})
    void clientErrorsAreNotRetryable(int status) {
        Failure f = http(status, "{\"error\":{\"message\":\"nope\",\"type\":\"invalid_request_error\",\"code\":\"x\"}}");
        assertInstanceOf(Failure.ClientError.class, f);
        assertFalse(f.retryable());
        assertEquals(status, f.httpStatus());
        assertEquals("nope", f.message());
    }

    @ParameterizedTest(name = "HTTP {0} is retryable")
    @CsvSource({"500", "502", "503", "529"})
    void serverErrorsAreRetryable(int status) {
        Failure f = http(status, "oops");
        assertInstanceOf(Failure.Retryable.class, f);
        assertTrue(f.retryable());
    }

    @Test
    void rateLimitKeepsRetryAfterSecondsOrDate() {
        Failure seconds = Failures.fromHttp(Origin.PROVIDER, "p", 429, Optional.of("7"), new byte[0], CLOCK);
        assertEquals(Optional.of(Duration.ofSeconds(7)), ((Failure.RateLimited) seconds).retryAfter());
        Failure date = Failures.fromHttp(Origin.PROVIDER, "p", 429, Optional.of("Sun, 22 Nov 2026 12:00:30 GMT"),
                new byte[0], CLOCK);
        assertEquals(Optional.of(Duration.ofSeconds(30)), ((Failure.RateLimited) date).retryAfter());
        Failure none = Failures.fromHttp(Origin.PROVIDER, "p", 429, Optional.of("soon"), new byte[0], CLOCK);
        assertEquals(Optional.empty(), ((Failure.RateLimited) none).retryAfter());
        assertEquals(429, none.httpStatus());
    }

    @Test
    void aTransportFailurePassedOnByARelayKeepsItsKind() {
        Failure f = http(502, "{\"error\":{\"message\":\"connection to sim failed\",\"type\":\"upstream_unavailable\",\"code\":\"connection_reset\"}}");
        assertEquals(new Failure.Unavailable(Origin.PROVIDER, "p", Failure.UnavailableKind.RESET, "connection to sim failed"), f,
                "not a transient 502 the upstream answered: no retry in place");
        Failure other = http(502, "{\"error\":{\"message\":\"bad gateway\",\"type\":\"server_error\",\"code\":\"connection_reset\"}}");
        assertEquals(502, ((Failure.Retryable) other).status(), "only our relays' shape is read that way");
    }

    @Test
    void readsAnthropicErrorShape() {
        Failure f = http(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long\"}}");
        assertEquals("prompt is too long", f.message());
        assertEquals("invalid_request_error", f.errorType());
    }

    @Test
    void transportErrorsAreUnavailable() {
        Failure refused = Failures.fromThrowable(Origin.RELAY, "r", new UncheckedIOException(new ConnectException("Connection refused")));
        assertEquals(Failure.UnavailableKind.CONNECT_REFUSED, ((Failure.Unavailable) refused).kind());
        assertEquals(502, refused.httpStatus());
        Failure timeout = Failures.fromThrowable(Origin.RELAY, "r", new UncheckedIOException(new SocketTimeoutException("Read timed out")));
        assertEquals(Failure.UnavailableKind.TIMEOUT, ((Failure.Unavailable) timeout).kind());
        assertEquals(504, timeout.httpStatus());
        Failure other = Failures.fromThrowable(Origin.RELAY, "r", new IllegalStateException("Connection reset"));
        assertEquals(Failure.UnavailableKind.RESET, ((Failure.Unavailable) other).kind());
    }

    @Test
    void errorBodiesHaveEachApisShape() {
        Failure f = Failure.ClientError.invalid("messages", "'messages' is required");
        assertEquals("invalid_request_error", ErrorBodies.openAi(f).path("error").path("type").asText());
        assertEquals("messages", ErrorBodies.openAi(f).path("error").path("param").asText());
        assertEquals("error", ErrorBodies.anthropic(f).path("type").asText());
        assertEquals("invalid_request_error", ErrorBodies.anthropic(f).path("error").path("type").asText());
        Failure limited = new Failure.RateLimited(Origin.PROVIDER, "p", Optional.empty(), "slow down");
        assertEquals("rate_limit_error", ErrorBodies.anthropic(limited).path("error").path("type").asText());
    }
}
