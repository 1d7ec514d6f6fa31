package io.understudy.chaos;

import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.chaos.RequestRecord.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

/** The agent alone in front of providers, the way an app without relays runs it: no relays, no etcd. */
@ExtendWith(ChaosReportPage.class)
class AgentAloneChaosTest {
    private static final Duration SERVE = Duration.ofSeconds(20);

    /**
     * Regression (bin/bench, agent alone, the primary provider blackholed at 300 req/s): 1,374 failed requests
     * and 1,351 failed streams of 3,600. The direct tier had no probes, so requests waited for the read timeout.
     */
    @Test
    void s22AgentAloneProviderBlackholedSecondProviderHealthy() {
        try (Scenario s = Scenario.start("22-agent-alone-provider-blackholed", "Agent alone: first provider blackholed, second healthy",
                "The agent alone (no relays, no etcd) on its default settings, with two providers in its direct tier. "
                        + "The first is blackholed (connections accepted, nothing answered): probes of its model list mark "
                        + "it down within about 1.5 s, requests waiting on it are re-issued on the second and streams flowing "
                        + "from it resumed there. Every request completes, none more than 2 s later than normal, and traffic "
                        + "returns to the first provider once it answers again.", ChaosCluster.AgentProfile.ALONE)) {
            s.inject("timeout toxic (0 = hold forever) on the first provider's answers",
                    () -> s.cluster.direct.toxics().timeout("blackhole", ToxicDirection.DOWNSTREAM, 0));
            s.awaitRequests("the second provider serving", r -> r.outcome() == Outcome.COMPLETE
                    && r.upstream().equals("direct:backup"), 2 * s.rate, SERVE);
            s.lift("remove the toxic", () -> Scenario.removeToxic(s.cluster.direct, "blackhole"));
            s.awaitRequests("the first provider serving again", r -> r.outcome() == Outcome.COMPLETE
                    && r.upstream().equals("direct:sim"), s.rate, SERVE);
            ScenarioResult r = s.finish("direct", "direct");
            r.check(r.worstAddedMs() <= 2000, "no request more than 2 s later than normal: worst added " + r.worstAddedMs() + " ms");
            r.check(r.allComplete(), "every request completes, streams included");
            s.verdict(r);
        }
    }

    /**
     * Regression (outside fault-injection benchmark, agent alone): a persistent 429 without Retry-After on one
     * model took 6 attempts on that model and none on the configured fallback model on the same provider,
     * because a 429 cooled the whole provider.
     */
    @Test
    void s23PersistentRateLimitOnOneModelWithAFallbackOnTheSameProvider() throws Exception {
        try (Scenario s = Scenario.start("23-agent-alone-one-model-429", "Agent alone: one model rate-limited for good, fallback on the same provider",
                "The agent alone on its default settings; models named limited-* are routed to one provider only, with "
                        + "the model steady as their configured fallback there. That provider answers 429 without Retry-After "
                        + "to every limited-* request: a 429 cools only that model, so each request is tried once on its "
                        + "model and then served by the fallback on the same provider (2 attempts). Every request completes; "
                        + "no request calls its limited model twice, and the fallback is called once per rate-limited request.",
                ChaosCluster.AgentProfile.ALONE, ChaosCluster.LIMITED_PREFIX)) {
            s.inject("429 without Retry-After for every limited-* model (steady and other models answer)",
                    () -> s.cluster.storm("{\"mode\": \"429\", \"every\": 1, \"models\": \"" + ChaosCluster.LIMITED_PREFIX + "\"}"));
            s.runFor(3 * s.rate, SERVE);
            s.lift("end the storm", () -> s.cluster.storm(null));
            s.runFor(s.rate, SERVE);
            ScenarioResult r = s.finish("direct", "direct");
            long limitedTwice = 0;
            long rateLimited = 0;
            long fallbackCalls = 0;
            java.util.Map<String, Integer> perModel = new java.util.HashMap<>();
            for (com.fasterxml.jackson.databind.JsonNode a : s.cluster.simAttempts().path("attempts")) {
                String model = a.path("model").asText();
                if (a.path("resent").asBoolean()) {
                    continue; // a transport re-send (helidon#10861) is counted by the duplicate bound, not here
                }
                if (model.startsWith(ChaosCluster.LIMITED_PREFIX)) {
                    rateLimited += a.path("outcome").asText().equals("429") ? 1 : 0;
                    if (perModel.merge(model, 1, Integer::sum) == 2) {
                        limitedTwice++;
                    }
                } else if (model.equals(ChaosCluster.LIMITED_FALLBACK)) {
                    fallbackCalls++;
                }
            }
            r.note(rateLimited + " requests rate-limited on their model, " + fallbackCalls + " fallback calls, "
                    + limitedTwice + " requests that called their limited model twice");
            r.check(rateLimited >= 2L * s.rate, "the storm hit: " + rateLimited + " 429s");
            r.check(limitedTwice == 0, "no request calls its rate-limited model twice: " + limitedTwice + " did");
            r.check(fallbackCalls == rateLimited, "one fallback call per rate-limited request: " + fallbackCalls
                    + " calls for " + rateLimited + " 429s");
            r.check(r.allComplete(), "every request completes, streams included");
            s.verdict(r);
        }
    }
}
