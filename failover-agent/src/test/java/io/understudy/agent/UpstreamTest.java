package io.understudy.agent;

import dev.failsafe.CircuitBreaker;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What each failure does to an upstream's state: per model, or the whole upstream. */
class UpstreamTest {
    private static final long NOW = 1_000_000;

    private static Upstream upstream(Upstream.Kind kind) {
        CircuitBreaker<Object> breaker = CircuitBreaker.builder()
                .withFailureRateThreshold(50, 10, Duration.ofSeconds(10)).withDelay(Duration.ofSeconds(5)).build();
        return new Upstream(kind == Upstream.Kind.DIRECT ? "direct:wall" : "primary-1", "t", 0, kind, 1, null, null,
                breaker, 3, new ModelCircuits(3, 5_000));
    }

    private static Failure http(Origin origin, int status) {
        return new Failure.Retryable(origin, "wall", status, "upstream_http_" + status, "error");
    }

    /** Regression, outside benchmark "persistent 429 without Retry-After": the 429 cooled every model. */
    @Test
    void aProvidersRateLimitForOneModelCoolsOnlyThatModel() {
        Upstream u = upstream(Upstream.Kind.DIRECT);
        u.failed(new Failure.RateLimited(Origin.PROVIDER, "wall", Optional.empty(), "slow down"), "m", NOW);
        assertEquals(NOW + 1_000, u.coolingUntil("m"), "no Retry-After: a second");
        assertEquals(0, u.coolingUntil("m-small"));
        assertFalse(u.circuitOpen(), "a rate limit is not a fault");
    }

    @Test
    void aRelaysOwnRateLimitCoolsTheWholeRelay() {
        Upstream u = upstream(Upstream.Kind.RELAY);
        u.failed(new Failure.RateLimited(Origin.RELAY, "primary-1", Optional.of(Duration.ofSeconds(3)), "slow down"), "m", NOW);
        assertEquals(NOW + 3_000, u.coolingUntil("any-model"));
    }

    /** Regression, outside benchmark "primary flaps": one model's 503s opened the provider's circuit for all. */
    @Test
    void fiveHundredsForOneModelOpenOnlyThatModelsCircuit() {
        Upstream u = upstream(Upstream.Kind.DIRECT);
        for (int i = 0; i < 3; i++) {
            u.failed(http(Origin.PROVIDER, 503), "m", NOW);
        }
        assertTrue(u.circuitOpen("m", NOW));
        assertFalse(u.circuitOpen("m-small", NOW), "the fallback model on the same provider stays usable");
        assertFalse(u.circuitOpen());
        assertEquals(java.util.Set.of("m"), u.openModels(NOW).keySet());
        assertFalse(u.circuitOpen("m", NOW + 5_000), "on trial after open-for");
    }

    @Test
    void providerErrorsPassedOnByARelayCountForThatModelOnThatRelay() {
        Upstream u = upstream(Upstream.Kind.RELAY);
        Failure providerDown = new Failure.Unavailable(Origin.PROVIDER, "sim", Failure.UnavailableKind.TIMEOUT, "slow provider");
        for (int i = 0; i < 3; i++) {
            u.failed(i % 2 == 0 ? providerDown : http(Origin.PROVIDER, 502), "m", NOW);
        }
        assertTrue(u.circuitOpen("m", NOW));
        assertFalse(u.circuitOpen(), "the relay answered: it is not dead");
    }

    /**
     * Regression: first-token timeouts for one hung model opened the whole relay's circuit, while its
     * probes passed and its other models answered.
     */
    @Test
    void timeoutsOnAnUpstreamProbesFindUpCountAgainstThatModelOnly() {
        Failure timeout = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.TIMEOUT, "no first token");
        assertEquals(Upstream.Blame.MODEL, Upstream.blame(Upstream.Kind.RELAY, timeout, true));
        assertEquals(Upstream.Blame.MODEL, Upstream.blame(Upstream.Kind.DIRECT, timeout, true));
        assertEquals(Upstream.Blame.WHOLE, Upstream.blame(Upstream.Kind.RELAY, timeout, false),
                "without probes vouching, silence is the upstream's");
        Failure reset = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.RESET, "reset");
        assertEquals(Upstream.Blame.WHOLE, Upstream.blame(Upstream.Kind.RELAY, reset, true),
                "a reset is the upstream's even while probes pass");

        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(NOW);
        InstanceHealth health = new InstanceHealth("primary-1", 1, 1, clock::get);
        health.probeSucceeded();
        Upstream relay = new Upstream("primary-1", "t", 0, Upstream.Kind.RELAY, 1, null, health,
                CircuitBreaker.builder().withFailureRateThreshold(50, 10, Duration.ofSeconds(10))
                        .withDelay(Duration.ofSeconds(5)).build(), 3, new ModelCircuits(3, 5_000));
        for (int i = 0; i < 3; i++) {
            relay.failed(timeout, "hung", NOW);
        }
        assertFalse(relay.circuitOpen(), "the relay stays in rotation");
        assertTrue(relay.circuitOpen("hung", NOW), "the hung model's circuit is open");
        assertFalse(relay.circuitOpen("other", NOW));
    }

    @Test
    void transportFailuresAndARelaysOwnErrorsOpenTheWholeUpstream() {
        Failure reset = new Failure.Unavailable(Origin.PROVIDER, "wall", Failure.UnavailableKind.RESET, "reset");
        Upstream direct = upstream(Upstream.Kind.DIRECT);
        for (int i = 0; i < 3; i++) {
            direct.failed(reset, "m" + i, NOW);
        }
        assertTrue(direct.circuitOpen(), "resets for any models add up: the provider itself is gone");
        Upstream relay = upstream(Upstream.Kind.RELAY);
        for (int i = 0; i < 3; i++) {
            relay.failed(http(Origin.RELAY, 500), "m" + i, NOW);
        }
        assertTrue(relay.circuitOpen());
    }

    @Test
    void aModelCircuitOnTrialClosesOnSuccessAndReopensOnFailure() {
        ModelCircuits circuits = new ModelCircuits(2, 1_000);
        assertFalse(circuits.failed("m", NOW));
        assertTrue(circuits.failed("m", NOW), "second failure in a row opens");
        assertFalse(circuits.failed("m", NOW + 10), "a call that started before it opened changes nothing");
        assertTrue(circuits.open("m", NOW + 999));
        assertFalse(circuits.open("m", NOW + 1_000));
        assertTrue(circuits.failed("m", NOW + 1_000), "one failure on trial opens it again");
        assertTrue(circuits.open("m", NOW + 1_500));
        assertTrue(circuits.succeeded("m"), "a success closes it");
        assertFalse(circuits.open("m", NOW + 1_500));
        assertFalse(circuits.failed("m", NOW + 1_500), "closed: the count starts again");
    }
}
