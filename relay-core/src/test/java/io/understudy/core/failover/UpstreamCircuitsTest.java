package io.understudy.core.failover;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What each failure does to an upstream's state: per model, or the whole upstream. */
class UpstreamCircuitsTest {
    private static final long NOW = 1_000_000;

    static final FailoverSettings.Breaker BREAKER = new FailoverSettings.Breaker(3, 50, 10, Duration.ofSeconds(10),
            Duration.ofSeconds(5), 2);

    private static UpstreamCircuits upstream(UpstreamCircuits.Kind kind) {
        return new UpstreamCircuits(kind == UpstreamCircuits.Kind.DIRECT ? "direct:wall" : "primary-1", kind, BREAKER,
                (name, state) -> { });
    }

    private static Failure http(Origin origin, int status) {
        return new Failure.Retryable(origin, "wall", status, "upstream_http_" + status, "error");
    }

    /** Regression, outside benchmark "persistent 429 without Retry-After": the 429 cooled every model. */
    @Test
    void aProvidersRateLimitForOneModelCoolsOnlyThatModel() {
        UpstreamCircuits u = upstream(UpstreamCircuits.Kind.DIRECT);
        u.failed(new Failure.RateLimited(Origin.PROVIDER, "wall", Optional.empty(), "slow down"), "m", NOW, false);
        assertEquals(NOW + 1_000, u.coolingUntil("m"), "no Retry-After: a second");
        assertEquals(0, u.coolingUntil("m-small"));
        assertFalse(u.circuitOpen(), "a rate limit is not a fault");
    }

    @Test
    void aRelaysOwnRateLimitCoolsTheWholeRelay() {
        UpstreamCircuits u = upstream(UpstreamCircuits.Kind.RELAY);
        u.failed(new Failure.RateLimited(Origin.RELAY, "primary-1", Optional.of(Duration.ofSeconds(3)), "slow down"), "m", NOW, false);
        assertEquals(NOW + 3_000, u.coolingUntil("any-model"));
    }

    /** Regression, outside benchmark "primary flaps": one model's 503s opened the provider's circuit for all. */
    @Test
    void fiveHundredsForOneModelOpenOnlyThatModelsCircuit() {
        UpstreamCircuits u = upstream(UpstreamCircuits.Kind.DIRECT);
        for (int i = 0; i < 3; i++) {
            u.failed(http(Origin.PROVIDER, 503), "m", NOW, false);
        }
        assertTrue(u.circuitOpen("m", NOW));
        assertFalse(u.circuitOpen("m-small", NOW), "the fallback model on the same provider stays usable");
        assertFalse(u.circuitOpen());
        assertEquals(java.util.Set.of("m"), u.openModels(NOW).keySet());
        assertFalse(u.circuitOpen("m", NOW + 5_000), "on trial after open-for");
    }

    @Test
    void providerErrorsPassedOnByARelayCountForThatModelOnThatRelay() {
        UpstreamCircuits u = upstream(UpstreamCircuits.Kind.RELAY);
        Failure providerDown = new Failure.Unavailable(Origin.PROVIDER, "sim", Failure.UnavailableKind.TIMEOUT, "slow provider");
        for (int i = 0; i < 3; i++) {
            u.failed(i % 2 == 0 ? providerDown : http(Origin.PROVIDER, 502), "m", NOW, false);
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
        assertEquals(UpstreamCircuits.Blame.MODEL, UpstreamCircuits.blame(UpstreamCircuits.Kind.RELAY, timeout, true));
        assertEquals(UpstreamCircuits.Blame.MODEL, UpstreamCircuits.blame(UpstreamCircuits.Kind.DIRECT, timeout, true));
        assertEquals(UpstreamCircuits.Blame.WHOLE, UpstreamCircuits.blame(UpstreamCircuits.Kind.RELAY, timeout, false),
                "without probes vouching, silence is the upstream's");
        Failure reset = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.RESET, "reset");
        assertEquals(UpstreamCircuits.Blame.WHOLE, UpstreamCircuits.blame(UpstreamCircuits.Kind.RELAY, reset, true),
                "a reset is the upstream's even while probes pass");

        UpstreamCircuits relay = upstream(UpstreamCircuits.Kind.RELAY);
        for (int i = 0; i < 3; i++) {
            relay.failed(timeout, "hung", NOW, true);
        }
        assertFalse(relay.circuitOpen(), "the relay stays in rotation");
        assertTrue(relay.circuitOpen("hung", NOW), "the hung model's circuit is open");
        assertFalse(relay.circuitOpen("other", NOW));
    }

    @Test
    void transportFailuresAndARelaysOwnErrorsOpenTheWholeUpstream() {
        Failure reset = new Failure.Unavailable(Origin.PROVIDER, "wall", Failure.UnavailableKind.RESET, "reset");
        UpstreamCircuits direct = upstream(UpstreamCircuits.Kind.DIRECT);
        for (int i = 0; i < 3; i++) {
            direct.failed(reset, "m" + i, NOW, false);
        }
        assertTrue(direct.circuitOpen(), "resets for any models add up: the provider itself is gone");
        UpstreamCircuits relay = upstream(UpstreamCircuits.Kind.RELAY);
        for (int i = 0; i < 3; i++) {
            relay.failed(http(Origin.RELAY, 500), "m" + i, NOW, false);
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
