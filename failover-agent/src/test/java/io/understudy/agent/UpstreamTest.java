package io.understudy.agent;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.failover.FailoverSettings;
import io.understudy.core.failover.UpstreamCircuits;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An upstream hands its failures to its circuits with what its probes say (the rules: UpstreamCircuitsTest). */
class UpstreamTest {
    private static final long NOW = 1_000_000;
    private static final FailoverSettings.Breaker BREAKER = new FailoverSettings.Breaker(3, 50, 10, Duration.ofSeconds(10),
            Duration.ofSeconds(5), 2);

    private static final Failure TIMEOUT = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.TIMEOUT,
            "no first token");

    /** A relay whose last probe passed or failed, after three first-token timeouts for model "hung". */
    private static Upstream relayAfterThreeTimeouts(boolean probePassed) {
        InstanceHealth health = new InstanceHealth("primary-1", 1, 1, new AtomicLong(NOW)::get);
        if (probePassed) {
            health.probeSucceeded();
        } else {
            health.probeFailed("refused");
        }
        Upstream relay = new Upstream("primary-1", "t", 0, 1, null, health,
                new UpstreamCircuits("primary-1", UpstreamCircuits.Kind.RELAY, BREAKER, (name, state) -> { }),
                new io.understudy.core.routing.LiveTargets(io.understudy.core.routing.LiveTargets.Listener.NONE));
        for (int i = 0; i < 3; i++) {
            relay.failed(TIMEOUT, "hung", NOW);
        }
        return relay;
    }

    /**
     * Regression: first-token timeouts for one hung model opened the whole relay's circuit, while its
     * probes passed and its other models answered.
     */
    @Test
    void timeoutsOnARelayWhoseProbesPassCountAgainstThatModelOnly() {
        Upstream relay = relayAfterThreeTimeouts(true);
        assertFalse(relay.circuitOpen(), "the relay stays in rotation");
        assertTrue(relay.circuitOpen("hung", NOW), "the hung model's circuit is open");
        assertFalse(relay.circuitOpen("other", NOW));
    }

    @Test
    void timeoutsOnARelayWithoutAPassingProbeOpenTheWholeRelay() {
        assertTrue(relayAfterThreeTimeouts(false).circuitOpen(), "silence with probes failing is the relay's own");
    }
}
