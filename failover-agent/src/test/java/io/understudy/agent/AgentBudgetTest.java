package io.understudy.agent;

import org.junit.jupiter.api.Test;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A 100%-failure storm, on an agent of its own (it spends that agent's whole retry budget). */
class AgentBudgetTest {

    @Test
    void budgetBoundsAttemptsUnderAFailureStorm() throws Exception {
        try (AgentHarness h = new AgentHarness(io.understudy.sim.SimConfig.defaults().withPort(0)
                .withTiming(java.time.Duration.ZERO, java.time.Duration.ZERO, 4), "",
                AgentHarness.Tuning.FUNCTIONAL.withReservePerSecond(1).withBreakerFailures(1_000).withRelayRetries(0))) {
            h.reset();
            int requests = 100;
            for (int i = 0; i < requests; i++) {
                assertEquals(503, h.post("/v1/chat/completions", chat("sim-503", false, "storm " + i)).statusCode());
            }
            int attempts = h.simAttempts();
            // Without a budget every request would try all three tiers: 300 attempts. With it: the first
            // attempts, plus 20% of them and a reserve of 1 per second over the 10 s window. The relays stay
            // in rotation (their provider fails, not they), so no failover here is a free redirect. (Circuits
            // would open per model after a few 503s and fail the rest fast: this agent's open only after
            // 1,000, so that the budget alone is measured; and the relays do not retry their provider, so that
            // every sim call is one of the agent's attempts. The relay's budget: RelayTest.)
            assertTrue(attempts <= requests + requests / 5 + 10 + 2, "attempts under the storm: " + attempts);
            assertTrue(attempts > requests, "some retries were allowed: " + attempts);
            assertTrue(h.status().path("retry_budget").path("exhausted_total").asLong() > 0);
        }
    }
}
