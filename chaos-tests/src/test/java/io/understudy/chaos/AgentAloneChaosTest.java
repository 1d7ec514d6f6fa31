package io.understudy.chaos;

import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.chaos.RequestRecord.Outcome;
import org.junit.jupiter.api.Test;

import java.time.Duration;

/** The agent alone in front of providers, the way an app without relays runs it: no relays, no etcd. */
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
}
