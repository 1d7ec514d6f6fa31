package io.understudy.core.failover;

import io.understudy.core.failover.FailoverPolicy.Candidate;
import io.understudy.core.failover.FailoverPolicy.FailedAttempt;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static io.understudy.core.failover.HealthState.DOWN;
import static io.understudy.core.failover.HealthState.SUSPECT;
import static io.understudy.core.failover.HealthState.UP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decision table. Each test names the rule it protects. */
class FailoverPolicyTest {
    private static final long NOW = 1_000_000;
    private final FailoverPolicy policy = new FailoverPolicy(2_000);

    private static Candidate primary(HealthState health) {
        return new Candidate("primary-1", "primary", 0, "m", "m", health, false, 0, 0, false);
    }

    private static Candidate standby(HealthState health) {
        return new Candidate("standby-1", "standby", 1, "m", "m", health, false, 0, 0, false);
    }

    private static Candidate direct(String model) {
        return new Candidate("direct:sim", "direct", 2, model, model, UP, false, 0, 0, true);
    }

    private static FailoverPolicy.Situation situation(List<Candidate> candidates, List<FailedAttempt> failures, boolean budget) {
        return new FailoverPolicy.Situation(List.of("m"), List.of(), candidates, failures, () -> budget, NOW,
                NOW + 60_000, List.of());
    }

    private static FailedAttempt failed(String upstream, Failure f) {
        return new FailedAttempt(upstream, "m", f);
    }

    private static final Failure RESET = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.RESET, "reset");

    @Test
    void healthyPrimaryTierFirst() {
        var d = policy.decide(situation(List.of(standby(UP), primary(UP), direct("m")), List.of(), true));
        assertEquals("primary-1", ((FailoverPolicy.Attempt) d).candidate().upstream());
        assertEquals("primary primary-1 is healthy; serving m", d.reason());
    }

    @Test
    void downPrimaryIsSkippedWithoutAnAttempt() {
        var d = policy.decide(situation(List.of(primary(DOWN), standby(UP)), List.of(), true));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) d).candidate().upstream());
    }

    @Test
    void suspectPrimaryLosesToHealthyStandbyButBeatsNothing() {
        var d = policy.decide(situation(List.of(primary(SUSPECT), standby(UP)), List.of(), true));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) d).candidate().upstream());
        var alone = policy.decide(situation(List.of(primary(SUSPECT), standby(DOWN)), List.of(), true));
        assertEquals("primary-1", ((FailoverPolicy.Attempt) alone).candidate().upstream());
    }

    @Test
    void suspectRelaysStillBeatDirectProviders() {
        var d = policy.decide(situation(List.of(primary(SUSPECT), standby(SUSPECT), direct("m")), List.of(), true));
        assertEquals("primary-1", ((FailoverPolicy.Attempt) d).candidate().upstream(),
                "one failed probe is not a reason to bypass the relays");
    }

    @Test
    void theLeadersTierServesSteadyStateTrafficUnlessItIsDown() {
        var s = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP), standby(UP)), List.of(), () -> true,
                NOW, NOW + 60_000, List.of(), Optional.of("standby"));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) policy.decide(s)).candidate().upstream());
        var down = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP), standby(DOWN)), List.of(),
                () -> true, NOW, NOW + 60_000, List.of(), Optional.of("standby"));
        assertEquals("primary-1", ((FailoverPolicy.Attempt) policy.decide(down)).candidate().upstream(),
                "a leader this agent cannot reach is skipped");
    }

    @Test
    void openCircuitIsSkipped() {
        Candidate open = new Candidate("primary-1", "primary", 0, "m", "m", UP, true, 0, 0, false);
        var d = policy.decide(situation(List.of(open, standby(UP)), List.of(), true));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) d).candidate().upstream());
    }

    @Test
    void failedUpstreamIsNotRetriedInTheSameRequest() {
        var d = policy.decide(situation(List.of(primary(UP), standby(UP)), List.of(failed("primary-1", RESET)), true));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) d).candidate().upstream());
        assertEquals("primary-1 failed (connection_reset); failing over to standby standby-1", d.reason());
    }

    @Test
    void bothRelaysFailedMeansDirectProviders() {
        var d = policy.decide(situation(List.of(primary(UP), standby(UP), direct("m")),
                List.of(failed("primary-1", RESET), failed("standby-1", RESET)), true));
        assertEquals("direct:sim", ((FailoverPolicy.Attempt) d).candidate().upstream());
    }

    @Test
    void clientErrorsAreNeverRetried() {
        Failure bad = new Failure.ClientError(Origin.PROVIDER, "primary-1", 400, "invalid_request_error", "invalid", null, "bad");
        var d = policy.decide(situation(List.of(primary(UP), standby(UP)), List.of(failed("primary-1", bad)), true));
        assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        assertEquals(bad, ((FailoverPolicy.GiveUp) d).failure());
    }

    /** Regression kept from the relay's own loop: a provider refusing the relay's key is the relay's problem. */
    @Test
    void aProviderRefusingOurKeyMovesOnToTheNextUpstream() {
        Failure refused = new Failure.ClientError(Origin.PROVIDER, "direct:a", 401, "authentication_error", "invalid_api_key",
                null, "bad key");
        Candidate a = new Candidate("direct:a", "direct", 0, "m", "m", UP, false, 0, 0, true);
        Candidate b = new Candidate("direct:b", "direct", 0, "m", "m", UP, false, 0, 1, true);
        var d = policy.decide(situation(List.of(a, b), List.of(failed("direct:a", refused)), true));
        assertEquals("direct:b", ((FailoverPolicy.Attempt) d).candidate().upstream());
        var last = policy.decide(situation(List.of(a, b), List.of(failed("direct:a", refused), failed("direct:b", refused)), true));
        assertEquals(refused, ((FailoverPolicy.GiveUp) last).failure(), "refused everywhere: the client hears why");
        Failure relayRefused = new Failure.ClientError(Origin.RELAY, "primary-1", 401, "authentication_error", "invalid_api_key",
                null, "bad key");
        assertInstanceOf(FailoverPolicy.GiveUp.class, policy.decide(situation(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", relayRefused)), true)), "a relay refusing the caller's key is passed through");
    }

    /** Regression, outside benchmark: a provider that sent Retry-After was called again 0.09 s later by another path. */
    @Test
    void aRetryAfterStillRunningIsPassedOnWithoutCallingTheProvider() {
        Candidate cooling = new Candidate("sim", "provider", 0, "m", "m-1", UP, false, NOW + 29_500, 0, false);
        var d = policy.decide(situation(List.of(cooling), List.of(), true));
        var give = assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        var limited = assertInstanceOf(Failure.RateLimited.class, give.failure());
        assertEquals(java.util.Optional.of(java.time.Duration.ofSeconds(30)), limited.retryAfter(), "the time left, rounded up");
        assertEquals(java.util.Optional.of("m-1"), limited.model(), "names the model it binds, as the provider knows it");
        assertEquals("sim", limited.upstream());
    }

    @Test
    void contextLengthMayMoveToAConfiguredLargerModel() {
        Failure tooLong = new Failure.ClientError(Origin.PROVIDER, "primary-1", 400, "invalid_request_error",
                "context_length_exceeded", "messages", "too long");
        Candidate big = new Candidate("primary-1", "primary", 0, "m-large", "m-large", UP, false, 0, 0, false);
        var s = new FailoverPolicy.Situation(List.of("m"), List.of("m-large"), List.of(primary(UP), big),
                List.of(failed("primary-1", tooLong)), () -> true, NOW, NOW + 60_000, List.of());
        var d = policy.decide(s);
        assertEquals("m-large", ((FailoverPolicy.Attempt) d).candidate().model());
    }

    @Test
    void exhaustedBudgetStopsFailover() {
        var d = policy.decide(situation(List.of(primary(UP), standby(UP)), List.of(failed("primary-1", RESET)), false));
        assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        assertTrue(d.reason().startsWith("retry budget exhausted"));
    }

    @Test
    void redirectingARequestTheUpstreamNeverWorkedOnNeedsNoBudget() {
        Failure refused = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.CONNECT_REFUSED, "refused");
        Failure markedDown = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.MARKED_DOWN, "down");
        for (Failure f : List.of(refused, markedDown)) {
            var d = (FailoverPolicy.Attempt) policy.decide(situation(List.of(primary(UP), standby(UP)), List.of(failed("primary-1", f)), false));
            assertEquals("standby-1", d.candidate().upstream(), f.message());
            assertEquals(FailoverPolicy.Move.REDIRECT, d.move(), f.message());
        }
    }

    /**
     * Regression, chaos scenario 17: a SIGKILLed relay resets every request in flight at once. Once its
     * circuit is open (or probes mark it down) it gets no traffic, so moving the rest of its requests
     * redirects load and must not be refused by an empty budget.
     */
    @Test
    void resetsFromARelayOutOfRotationAreRedirectsNotRetries() {
        Candidate circuitOpen = new Candidate("primary-1", "primary", 0, "m", "m", UP, true, 0, 0, false);
        for (Candidate gone : List.of(circuitOpen, primary(DOWN))) {
            boolean[] asked = {false};
            var s = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(gone, standby(UP)),
                    List.of(failed("primary-1", RESET)), () -> asked[0] = true, NOW, NOW + 60_000, List.of());
            var d = (FailoverPolicy.Attempt) policy.decide(s);
            assertEquals("standby-1", d.candidate().upstream());
            assertEquals(FailoverPolicy.Move.REDIRECT, d.move());
            assertTrue(!asked[0], "a redirect does not take a token from the budget");
            assertTrue(d.reason().startsWith("primary-1 failed (connection_reset) and is "), d.reason());
        }
    }

    @Test
    void aResetFromARelayStillInRotationIsARetryThatSpendsBudget() {
        boolean[] asked = {false};
        var s = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", RESET)), () -> asked[0] = true, NOW, NOW + 60_000, List.of());
        var d = (FailoverPolicy.Attempt) policy.decide(s);
        assertEquals(FailoverPolicy.Move.RETRY, d.move());
        assertTrue(asked[0], "a retry takes a token");
        assertEquals("primary-1 failed (connection_reset); failing over to standby standby-1", d.reason());
    }

    @Test
    void firstAttemptNeedsNoBudget() {
        var d = policy.decide(situation(List.of(primary(UP)), List.of(), false));
        assertEquals(FailoverPolicy.Move.FIRST, ((FailoverPolicy.Attempt) d).move());
    }

    @Test
    void retryAfterKeepsAnUpstreamOutUntilItAllows() {
        Candidate cooling = new Candidate("primary-1", "primary", 0, "m", "m", UP, false, NOW + 500, 0, false);
        var d = policy.decide(situation(List.of(cooling, standby(UP)), List.of(), true));
        assertEquals("standby-1", ((FailoverPolicy.Attempt) d).candidate().upstream(), "another tier meanwhile");
        var alone = policy.decide(situation(List.of(cooling), List.of(), true));
        assertEquals(500, ((FailoverPolicy.Wait) alone).millis(), "a short Retry-After is waited out");
        Candidate longCool = new Candidate("primary-1", "primary", 0, "m", "m", UP, false, NOW + 30_000, 0, false);
        Failure limited = new Failure.RateLimited(Origin.PROVIDER, "primary-1", Optional.of(Duration.ofSeconds(30)), "slow down");
        var gaveUp = policy.decide(situation(List.of(longCool), List.of(failed("primary-1", limited)), true));
        assertEquals(limited, ((FailoverPolicy.GiveUp) gaveUp).failure(), "a long one goes back to the client");
    }

    @Test
    void modelFallbacksComeAfterEveryTierOfTheRequestedModel() {
        Candidate fallback = new Candidate("primary-1", "primary", 0, "m-small", "m-small", UP, false, 0, 0, false);
        List<Candidate> all = new ArrayList<>(List.of(primary(UP), fallback, direct("m")));
        var s = new FailoverPolicy.Situation(List.of("m", "m-small"), List.of(), all,
                List.of(failed("primary-1", RESET)), () -> true, NOW, NOW + 60_000, List.of());
        assertEquals("direct:sim", ((FailoverPolicy.Attempt) policy.decide(s)).candidate().upstream());
        var s2 = new FailoverPolicy.Situation(List.of("m", "m-small"), List.of(), all,
                List.of(failed("primary-1", RESET), new FailedAttempt("direct:sim", "m", RESET)), () -> true, NOW,
                NOW + 60_000, List.of());
        var d = (FailoverPolicy.Attempt) policy.decide(s2);
        assertEquals("m-small", d.candidate().model());
        assertTrue(d.reason().contains("fallback model m-small"));
    }

    @Test
    void nothingLeftSaysWhy() {
        var d = policy.decide(situation(List.of(primary(DOWN), standby(DOWN)), List.of(), true));
        assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        assertEquals("no upstream left to try: primary-1 down, standby-1 down", d.reason());
        assertEquals(503, ((FailoverPolicy.GiveUp) d).failure().httpStatus(), "nothing in rotation: 503, as Envoy's");
    }

    @Test
    void deadlinePassedGivesUp() {
        var s = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP)), List.of(failed("standby-1", RESET)),
                () -> true, NOW, NOW, List.of());
        assertEquals("request deadline reached", policy.decide(s).reason());
    }

    private static final FailoverPolicy RETRYING = new FailoverPolicy(2_000, java.util.Map.of(
            "primary", new FailoverPolicy.Retries(1, Duration.ofMillis(100)),
            "direct", new FailoverPolicy.Retries(1, Duration.ofMillis(100))));

    private static FailoverPolicy.Situation withJitter(List<Candidate> candidates, List<FailedAttempt> failures, double jitter) {
        return new FailoverPolicy.Situation(List.of("m"), List.of(), candidates, failures, () -> true, NOW, NOW + 60_000,
                List.of(), Optional.empty(), jitter);
    }

    private static final Failure HTTP_503 = new Failure.Retryable(Origin.PROVIDER, "sim", 503, "upstream_http_503", "overloaded");

    private static final Failure RELAY_503 = new Failure.Retryable(Origin.RELAY, "primary-1", 503, "upstream_http_503", "busy");

    /** Regression, outside benchmark "500 once, then healthy": the agent moved to the fallback model at once. */
    @Test
    void aTransient5xxIsRetriedOnceOnTheSameUpstreamAfterAJitteredPause() {
        var d = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", RELAY_503)), 0.0));
        assertEquals("primary-1", d.candidate().upstream());
        assertEquals(FailoverPolicy.Move.RETRY, d.move());
        assertEquals(50, d.delayMillis(), "half the backoff at the lowest jitter");
        assertEquals("primary-1 failed (HTTP 503), a transient error; retrying it once after 50 ms", d.reason());
        var high = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", RELAY_503)), 0.999));
        assertEquals(150, high.delayMillis(), "one and a half times the backoff at the highest");
        var direct = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(direct("m")),
                List.of(failed("direct:sim", HTTP_503)), 0.0));
        assertEquals("direct:sim", direct.candidate().upstream(), "a provider called directly: retried in place");
    }

    /** Retries multiply across layers: the relay nearest the provider retries it, the agent moves on. */
    @Test
    void aProvidersFiveHundredPassedOnByARelayIsNotRetriedOnThatRelay() {
        var d = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", HTTP_503)), 0.0));
        assertEquals("standby-1", d.candidate().upstream(), d.reason());
    }

    @Test
    void aSecond5xxFromTheSameUpstreamFailsOver() {
        var d = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", HTTP_503), failed("primary-1", HTTP_503)), 0.5));
        assertEquals("standby-1", d.candidate().upstream());
    }

    @Test
    void aFiveHundredThatFollowedTheRequestFromAnotherUpstreamIsNotTransient() {
        Candidate direct = new Candidate("direct:sim", "direct", 2, "m", "m", UP, false, 0, 0, true);
        Candidate fallback = new Candidate("direct:sim", "direct", 2, "m-small", "m-small", UP, false, 0, 0, true);
        var s = new FailoverPolicy.Situation(List.of("m", "m-small"), List.of(), List.of(standby(UP), direct, fallback),
                List.of(failed("standby-1", HTTP_503), new FailedAttempt("direct:sim", "m", HTTP_503)), () -> true, NOW,
                NOW + 60_000, List.of(), Optional.empty(), 0.5);
        var d = (FailoverPolicy.Attempt) RETRYING.decide(s);
        assertEquals("m-small", d.candidate().model(), "on to the fallback model, no retry of m in place: " + d.reason());
    }

    @Test
    void transportFailuresAndGatewayTimeoutsAreNotRetriedOnTheSameUpstream() {
        Failure http504 = new Failure.Retryable(Origin.PROVIDER, "sim", 504, "upstream_http_504", "gateway timeout");
        for (Failure f : List.of(RESET, http504)) {
            var d = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(primary(UP), standby(UP)),
                    List.of(failed("primary-1", f)), 0.5));
            assertEquals("standby-1", d.candidate().upstream(), f.message());
        }
    }

    @Test
    void noSameUpstreamRetryWhenItsTierHasNoneOrItLeftRotation() {
        var standbyTier = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(standby(UP), direct("m")),
                List.of(failed("standby-1", HTTP_503)), 0.5));
        assertEquals("direct:sim", standbyTier.candidate().upstream(), "the standby tier is configured without");
        Candidate open = new Candidate("primary-1", "primary", 0, "m", "m", UP, true, 0, 0, false);
        var circuitOpen = (FailoverPolicy.Attempt) RETRYING.decide(withJitter(List.of(open, standby(UP)),
                List.of(failed("primary-1", HTTP_503)), 0.5));
        assertEquals("standby-1", circuitOpen.candidate().upstream());
    }

    @Test
    void aSameUpstreamRetrySpendsBudget() {
        var s = new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", HTTP_503)), () -> false, NOW, NOW + 60_000, List.of());
        var d = RETRYING.decide(s);
        assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        assertTrue(d.reason().startsWith("retry budget exhausted"), d.reason());
    }

    @Test
    void retriesFromTheThirdAttemptOnPauseWithJitterButRedirectsDoNot() {
        Candidate third = new Candidate("third-1", "primary", 0, "m", "m", UP, false, 0, 0, false);
        var second = (FailoverPolicy.Attempt) policy.decide(withJitter(List.of(primary(UP), standby(UP)),
                List.of(failed("primary-1", RESET)), 0.999));
        assertEquals(0, second.delayMillis(), "the first failover goes at once");
        var retry = (FailoverPolicy.Attempt) policy.decide(withJitter(List.of(primary(UP), standby(UP), third),
                List.of(failed("primary-1", RESET), failed("standby-1", RESET)), 0.999));
        assertEquals(25, retry.delayMillis());
        Failure refused = new Failure.Unavailable(Origin.RELAY, "standby-1", Failure.UnavailableKind.CONNECT_REFUSED, "refused");
        var redirect = (FailoverPolicy.Attempt) policy.decide(withJitter(List.of(primary(UP), standby(UP), third),
                List.of(failed("primary-1", RESET), failed("standby-1", refused)), 0.999));
        assertEquals(FailoverPolicy.Move.REDIRECT, redirect.move());
        assertEquals(0, redirect.delayMillis(), "a redirect adds no load to wait for");
    }

    /**
     * Regression, outside benchmark "persistent 429" and "primary flaps": a 429 or an open circuit for
     * one model on a provider must leave its other models, and so the configured fallback, usable.
     */
    @Test
    void aModelShutOutOnAProviderLeavesItsFallbackModelOnTheSameProvider() {
        Candidate limited = new Candidate("direct:wall", "direct", 2, "m", "m", UP, false, NOW + 60_000, 0, true);
        Candidate open = new Candidate("direct:wall", "direct", 2, "m", "m", UP, true, 0, 0, true);
        Candidate fallback = new Candidate("direct:wall", "direct", 2, "m-small", "m-small", UP, false, 0, 0, true);
        Failure tooMany = new Failure.RateLimited(Origin.PROVIDER, "wall", Optional.empty(), "slow down");
        for (Candidate shut : List.of(limited, open)) {
            var s = new FailoverPolicy.Situation(List.of("m", "m-small"), List.of(), List.of(shut, fallback),
                    List.of(new FailedAttempt("direct:wall", "m", tooMany)), () -> true, NOW, NOW + 60_000, List.of());
            var d = (FailoverPolicy.Attempt) policy.decide(s);
            assertEquals("m-small", d.candidate().model(), "second attempt is the fallback model");
        }
    }

    // ------------------------------------------------------------------ limits and stream resumption

    private static FailoverPolicy.Situation resuming(List<FailedAttempt> failures, int attempts, FailoverPolicy.Resumption r) {
        return new FailoverPolicy.Situation(List.of("m"), List.of(), List.of(primary(UP), standby(UP)), failures, () -> true,
                NOW, NOW + 60_000, List.of(), Optional.empty(), 0.5, attempts, 6, Optional.ofNullable(r));
    }

    private static final Failure BROKEN = new Failure.Unavailable(Origin.RELAY, "primary-1",
            Failure.UnavailableKind.BROKEN_STREAM, "stream cut");

    @Test
    void aRequestMakesAtMostMaxAttempts() {
        var d = policy.decide(resuming(List.of(failed("primary-1", RESET)), 6, null));
        var g = assertInstanceOf(FailoverPolicy.GiveUp.class, d);
        assertEquals("attempt_limit", g.code());
        assertEquals("attempt limit of 6 reached", g.reason());
        assertEquals(FailoverPolicy.How.FRESH, ((FailoverPolicy.Attempt) policy.decide(resuming(List.of(), 0, null))).how(),
                "a first attempt is a fresh request");
    }

    @Test
    void aStreamBrokenDuringAToolCallIsNotResumed() {
        var r = new FailoverPolicy.Resumption(true, 1, 2, m -> true, java.util.Set.of());
        var g = assertInstanceOf(FailoverPolicy.GiveUp.class, policy.decide(resuming(List.of(failed("primary-1", BROKEN)), 1, r)));
        assertEquals("tool_call", g.code());
        assertEquals(BROKEN, g.failure(), "the stream ends with its own error");
    }

    @Test
    void aStreamIsResumedAtMostMaxStreamRecoveriesTimes() {
        var r = new FailoverPolicy.Resumption(false, 3, 2, m -> true, java.util.Set.of());
        var g = assertInstanceOf(FailoverPolicy.GiveUp.class, policy.decide(resuming(List.of(failed("primary-1", BROKEN)), 3, r)));
        assertEquals("recovery_limit", g.code());
    }

    @Test
    void aResumptionContinuesWhereTheModelTakesAPrefillAndReplaysElsewhere() {
        var prefill = new FailoverPolicy.Resumption(false, 1, 2, m -> m.equals("m"), java.util.Set.of());
        var a = (FailoverPolicy.Attempt) policy.decide(resuming(List.of(failed("primary-1", BROKEN)), 1, prefill));
        assertEquals("standby-1", a.candidate().upstream());
        assertEquals(FailoverPolicy.How.CONTINUATION, a.how());
        assertTrue(a.reason().endsWith("resuming the stream by continuation"), a.reason());

        var noPrefill = new FailoverPolicy.Resumption(false, 1, 2, m -> false, java.util.Set.of());
        assertEquals(FailoverPolicy.How.REPLAY,
                ((FailoverPolicy.Attempt) policy.decide(resuming(List.of(failed("primary-1", BROKEN)), 1, noPrefill))).how());

        var refused = new FailoverPolicy.Resumption(false, 1, 2, m -> true, java.util.Set.of("standby-1|m"));
        assertEquals(FailoverPolicy.How.REPLAY,
                ((FailoverPolicy.Attempt) policy.decide(resuming(List.of(failed("primary-1", BROKEN)), 1, refused))).how(),
                "a target that refused the prefill in this request gets a replay");
    }

    @Test
    void leavingASuspectUpstreamThatStayedSilentIsARedirectAndSpendsNoBudget() {
        Failure silent = new Failure.Unavailable(Origin.RELAY, "primary-1", Failure.UnavailableKind.TIMEOUT, "no first token");
        var a = (FailoverPolicy.Attempt) policy.decide(situation(List.of(primary(SUSPECT), standby(UP)),
                List.of(failed("primary-1", silent)), false));
        assertEquals(FailoverPolicy.Move.REDIRECT, a.move());
        assertTrue(a.reason().contains("suspect and silent"), a.reason());
        var refused = policy.decide(situation(List.of(primary(UP), standby(UP)), List.of(failed("primary-1", silent)), false));
        assertInstanceOf(FailoverPolicy.GiveUp.class, refused, "a timeout on an upstream nothing speaks against is a retry");
    }

    // ---------------------------------------------------------------- peers: live, weighted routing

    private static Candidate peer(String name, String tier, int tierIndex, int rank, double firstTokenMillis) {
        return new Candidate(name, tier, tierIndex, "m", "m", UP, false, 0, rank, true, 1, new io.understudy.core.routing.Balancer.Live(
                new io.understudy.core.routing.LiveStats.Signals(firstTokenMillis, 1, Double.NaN, 1, 0, 10), Optional.empty()));
    }

    private static FailoverPolicy.Situation streaming(List<Candidate> candidates, List<FailedAttempt> failures, double draw,
                                                      Optional<String> leaderTier) {
        return new FailoverPolicy.Situation(List.of("m"), List.of(), candidates, failures, () -> true, NOW, NOW + 60_000,
                List.of(), leaderTier, draw, 0, 6, Optional.empty(), true);
    }

    @Test
    void peersOfOnePriorityAreDrawnByLiveSharesAndTheReasonSaysSo() {
        List<Candidate> peers = List.of(peer("east", "direct", 0, 0, 290), peer("west", "direct", 0, 0, 590));
        var early = (FailoverPolicy.Attempt) policy.decide(streaming(peers, List.of(), 0.2, Optional.empty()));
        var late = (FailoverPolicy.Attempt) policy.decide(streaming(peers, List.of(), 0.9, Optional.empty()));
        assertEquals("east", early.candidate().upstream());
        assertEquals("west", late.candidate().upstream(), "the slower peer still gets its share");
        assertTrue(early.reason().endsWith("; weighted pick among east 67% (first token 290 ms), west 33% (first token 590 ms)"),
                early.reason());
    }

    @Test
    void aFasterTargetOfALaterPriorityIsNotDrawnWhileAnEarlierOneCanServe() {
        List<Candidate> ordered = List.of(peer("cheap", "direct", 0, 0, 900), peer("fast", "direct", 0, 1, 50));
        for (double draw : new double[]{0.0, 0.5, 0.99}) {
            var d = (FailoverPolicy.Attempt) policy.decide(streaming(ordered, List.of(), draw, Optional.empty()));
            assertEquals("cheap", d.candidate().upstream());
            assertEquals("direct cheap is healthy; serving m", d.reason(), "a single candidate of its rank: no draw");
        }
    }

    @Test
    void liveRoutingNeverFightsTheLeadersTier() {
        List<Candidate> tiers = List.of(peer("standby-1", "standby", 1, 0, 50), peer("primary-1", "primary", 0, 0, 2_000));
        for (double draw : new double[]{0.0, 0.99}) {
            var d = (FailoverPolicy.Attempt) policy.decide(streaming(tiers, List.of(), draw, Optional.of("primary")));
            assertEquals("primary-1", d.candidate().upstream());
        }
    }

    @Test
    void afterAPeerFailsTheRequestMovesToAnotherPeer() {
        List<Candidate> peers = List.of(peer("east", "direct", 0, 0, 290), peer("west", "direct", 0, 0, 290));
        Failure east503 = new Failure.Retryable(Origin.PROVIDER, "east", 500, "upstream_http_500", "boom");
        for (double draw : new double[]{0.0, 0.99}) {
            var d = (FailoverPolicy.Attempt) policy.decide(streaming(peers, List.of(failed("east", east503)), draw, Optional.empty()));
            assertEquals("west", d.candidate().upstream());
        }
    }
}
