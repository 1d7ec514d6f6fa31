package io.understudy.chaos;

import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.chaos.RequestRecord.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

/**
 * Whole-relay outages, one fresh appliance per scenario: the primary relay gone, silent, slow,
 * cut mid-stream, crawling, fragmenting, killed or flapping; both relays gone; everything gone.
 */
@ExtendWith(ChaosReportPage.class)
class RelayOutageTest {
    private static final Duration SERVE = Duration.ofSeconds(20);

    @Test
    void s01PrimaryDownUnderLoad() throws Exception {
        try (Scenario s = Scenario.start("01-primary-down", "Primary down under load (proxy disabled)",
                "Every request completes; only a stream already answering when the link drops may end in a clean error. "
                        + "The standby serves within 1 s of the fault; traffic returns to the primary once it is back.")) {
            s.inject("disable the primary's proxy (connections reset, new ones refused)", s.cluster.primaryProxy::disable);
            s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
            s.lift("enable the primary's proxy", s.cluster.primaryProxy::enable);
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.failoverMs() >= 0 && r.failoverMs() <= 1000, "standby serving within 1 s, took " + ScenarioResult.ms(r.failoverMs()));
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s02PrimarySilent() throws Exception {
        try (Scenario s = Scenario.start("02-primary-silent", "Primary silent: accepts, never answers (timeout toxic 0)",
                "Every non-streamed request completes; requests stranded on the silent primary are re-issued once probes "
                        + "mark it down (within 1.5 s), so none waits for a timeout; no stream is truncated.")) {
            s.inject("timeout toxic (0 = hold forever) on the primary, both directions",
                    () -> s.cluster.primaryProxy.toxics().timeout("silent", ToxicDirection.DOWNSTREAM, 0));
            s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
            s.lift("remove the toxic", () -> Scenario.removeToxic(s.cluster.primaryProxy, "silent"));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.failoverMs() >= 0 && r.failoverMs() <= 1500, "standby serving within 1.5 s, took " + ScenarioResult.ms(r.failoverMs()));
            r.check(r.worstAddedMs() <= 5000, "no request waits out a long timeout: worst added " + r.worstAddedMs() + " ms");
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s03PrimarySlow() throws Exception {
        try (Scenario s = Scenario.start("03-primary-slow", "Primary slow: 3-8 s latency with jitter",
                "Every non-streamed request completes and none takes longer than 10 s: probes time out (0.3 s) and move "
                        + "traffic to the standby; requests already waiting on the slow primary are re-issued.")) {
            s.inject("latency toxic 5.5 s +/- 2.5 s on the primary's answers",
                    () -> s.cluster.primaryProxy.toxics().latency("slow", ToxicDirection.DOWNSTREAM, 5500).setJitter(2500));
            s.awaitCompleted("standby serving", "standby", 3 * s.rate, SERVE);
            // not by removing the toxic: with probes opening a connection each, one closes during the removal
            // and deadlocks Toxiproxy (see ToxiproxyServer.recreate)
            s.lift("recreate the primary's proxy without the toxic", () -> s.cluster.toxiproxy.recreate(s.cluster.primaryProxy));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.records().stream().allMatch(q -> q.latencyMs() <= 10_000), "no request over 10 s");
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s04ResetAndCutMidStream() throws Exception {
        try (Scenario s = Scenario.start("04-reset-and-cut-mid-stream", "Reset mid-stream (reset_peer), then cut mid-stream (limit_data)",
                "No truncated answer is ever presented as complete: a stream broken after its first byte is resumed "
                        + "elsewhere (prefill) and completes, or ends with an in-band error event; non-streamed requests complete.")) {
            s.inject("reset_peer after 60 ms on the primary's answers, then limit_data 1500 bytes", () ->
                    s.cluster.primaryProxy.toxics().resetPeer("reset", ToxicDirection.DOWNSTREAM, 60));
            s.awaitCompleted("standby serving after resets", "standby", 2 * s.rate, SERVE);
            Scenario.removeToxic(s.cluster.primaryProxy, "reset");
            s.awaitCompleted("primary back between the faults", "primary", s.rate, SERVE);
            s.cluster.primaryProxy.toxics().limitData("cut", ToxicDirection.DOWNSTREAM, 1500);
            s.awaitCompleted("standby serving after cuts", "standby", 2 * s.rate, SERVE);
            s.lift("remove the toxics", () -> Scenario.removeToxic(s.cluster.primaryProxy, "cut"));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s05BandwidthCrawl() throws Exception {
        try (Scenario s = Scenario.start("05-bandwidth-crawl", "Bandwidth crawl on the primary (2 KB/s)",
                "Every request completes intact within 10 s: slow answers are answers, not failures; "
                        + "probes and stream idle timeouts decide whether to move, never a truncation.")) {
            s.inject("bandwidth toxic 2 KB/s on the primary's answers",
                    () -> s.cluster.primaryProxy.toxics().bandwidth("crawl", ToxicDirection.DOWNSTREAM, 2));
            s.runFor(4 * s.rate, SERVE);
            s.lift("remove the toxic", () -> Scenario.removeToxic(s.cluster.primaryProxy, "crawl"));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.allComplete(), "every request completes");
            r.check(r.records().stream().allMatch(q -> q.latencyMs() <= 10_000), "no request over 10 s");
            s.verdict(r);
        }
    }

    @Test
    void s06FragmentedFrames() throws Exception {
        try (Scenario s = Scenario.start("06-fragmented-frames", "Fragmented frames (slicer: 1-15 byte TCP segments)",
                "Answers arrive intact, byte for byte, from the primary: fragmentation is not a failure and moves nothing.")) {
            s.inject("slicer toxic: 8 +/- 7 byte slices, 50 us apart, on the primary's answers", () ->
                    s.cluster.primaryProxy.toxics().slicer("slices", ToxicDirection.DOWNSTREAM, 8, 50).setSizeVariation(7));
            s.runFor(4 * s.rate, SERVE);
            s.lift("remove the toxic", () -> Scenario.removeToxic(s.cluster.primaryProxy, "slices"));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.records().stream().allMatch(q -> q.outcome() == Outcome.COMPLETE && q.tier().equals("primary")),
                    "every request complete and served by the primary");
            s.verdict(r);
        }
    }

    @Test
    void s07BothRelaysDown() throws Exception {
        try (Scenario s = Scenario.start("07-both-relays-down", "Both relays down: direct-provider fallback, then back",
                "Every non-streamed request completes: the agent calls the provider directly within 1.5 s; "
                        + "when the relays return, traffic returns to the primary.")) {
            s.inject("disable both relay proxies", () -> {
                s.cluster.primaryProxy.disable();
                s.cluster.standbyProxy.disable();
            });
            s.awaitCompleted("direct tier serving", "direct", 2 * s.rate, SERVE);
            s.lift("enable both relay proxies", () -> {
                s.cluster.primaryProxy.enable();
                s.cluster.standbyProxy.enable();
            });
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            long direct = r.records().stream().filter(q -> q.tier().equals("direct")).count();
            r.note(direct + " requests served by the direct tier");
            r.check(r.failoverMs() >= 0 && r.failoverMs() <= 1500, "fallback serving within 1.5 s, took " + ScenarioResult.ms(r.failoverMs()));
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s08EverythingDown() throws Exception {
        try (Scenario s = Scenario.start("08-everything-down", "Everything down: both relays and the provider",
                "Requests made while nothing can serve end in clean OpenAI-style errors within 3 s (never hung, never "
                        + "broken); once things return, every request completes on the primary again.")) {
            s.inject("disable both relay proxies and the direct provider's proxy", () -> {
                s.cluster.primaryProxy.disable();
                s.cluster.standbyProxy.disable();
                s.cluster.direct.disable();
            });
            long downFrom = s.now();
            s.awaitRequests("clean errors while everything is down", q -> q.outcome() == Outcome.CLEAN_ERROR, 2 * s.rate, SERVE);
            long downTo = s.now();
            s.lift("enable everything", () -> {
                s.cluster.direct.enable();
                s.cluster.standbyProxy.enable();
                s.cluster.primaryProxy.enable();
            });
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            List<RequestRecord> during = r.records().stream().filter(q -> q.startMs() >= downFrom + 1000 && q.startMs() < downTo).toList();
            r.check(!during.isEmpty() && during.stream().allMatch(q -> q.outcome() == Outcome.CLEAN_ERROR && q.latencyMs() <= 3000),
                    "every request while everything was down is a clean error within 3 s");
            r.note(during.size() + " requests made while everything was down, all clean errors: "
                    + during.stream().allMatch(q -> q.outcome() == Outcome.CLEAN_ERROR));
            s.verdict(r);
        }
    }

    @Test
    void s12PrimaryKilled() throws Exception {
        try (Scenario s = Scenario.start("12-primary-sigkill", "Primary killed with SIGKILL under load",
                "Every non-streamed request completes; a stream cut mid-answer resumes or ends cleanly; the standby "
                        + "serves within 1 s and takes leadership when the lease lapses; the restarted primary rejoins behind it.")) {
            long epochBefore = s.cluster.agentEpoch();
            s.inject("SIGKILL the primary relay process", s.cluster.primary::kill);
            s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
            io.understudy.testkit.Await.until("standby-1 leads", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
            s.lift("start the primary again", s.cluster::restartPrimary);
            io.understudy.testkit.Await.until("primary-1 healthy again", SERVE, () -> s.cluster.health("primary-1").equals("up"));
            s.awaitSettled("standby", SERVE);
            ScenarioResult r = s.finish("primary", "standby");
            r.check(r.failoverMs() >= 0 && r.failoverMs() <= 1000, "standby serving within 1 s, took " + ScenarioResult.ms(r.failoverMs()));
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            r.check(s.cluster.agentEpoch() > epochBefore, "the epoch increased: " + epochBefore + " -> " + s.cluster.agentEpoch());
            s.verdict(r);
        }
    }

    @Test
    void s14PrimaryFlapping() throws Exception {
        try (Scenario s = Scenario.start("14-primary-flapping", "Primary flapping: down and up every 2 s, 6 times",
                "Every non-streamed request completes; hysteresis bounds the switches between tiers to at most one "
                        + "away and one back per flap (12); duplicate provider calls stay within the retry budget.")) {
            s.inject("disable / enable the primary's proxy every 2 s, 6 cycles", () -> {
                for (int cycle = 0; cycle < 6; cycle++) {
                    s.cluster.primaryProxy.disable();
                    s.awaitClock(2000);
                    s.cluster.primaryProxy.enable();
                    s.awaitClock(2000);
                }
            });
            s.lift("leave the primary up", () -> { });
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            int switches = Scenario.tierSwitches(r.records(), 500);
            r.note(switches + " switches between tiers over 6 flaps (majority tier per 500 ms of requests)");
            r.check(switches <= 12, "at most 12 tier switches, saw " + switches);
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            s.verdict(r);
        }
    }

    @Test
    void s17ColdStandbyTakesFullLoad() throws Exception {
        try (Scenario s = Scenario.start("17-cold-standby-full-load", "Cold standby taking the full load at once (60 req/s)",
                "The standby, idle until now, takes the whole load the moment the primary dies: every non-streamed "
                        + "request completes and none waits more than 3 s longer than usual.", 1, 60,
                ChaosCluster.FAST_LEASE_TTL)) {
            s.inject("SIGKILL the primary relay process", s.cluster.primary::kill);
            s.awaitCompleted("standby serving", "standby", 4 * s.rate, SERVE);
            s.lift("start the primary again", s.cluster::restartPrimary);
            io.understudy.testkit.Await.until("primary-1 healthy again", SERVE, () -> s.cluster.health("primary-1").equals("up"));
            s.awaitSettled("standby", SERVE);
            ScenarioResult r = s.finish("primary", "standby");
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            r.check(r.worstAddedMs() <= 3000, "worst added latency within 3 s: " + r.worstAddedMs() + " ms");
            s.verdict(r);
        }
    }

    /**
     * The retry budget must not starve failover (regression of scenario 17's lost requests): a relay that
     * dies resets everything in flight at once, and moving those requests elsewhere is a redirect, not a
     * retry. Run on an agent that has served nothing yet, so its budget window is empty.
     */
    @Test
    void s19ColdAgentPrimaryKilledWith200InFlight() throws Exception {
        int inFlight = 200;
        try (Scenario s = Scenario.cold("19-cold-agent-200-in-flight-sigkill", "Primary SIGKILLed with 200 requests in flight on a cold agent",
                "An agent that has served nothing yet sends a burst of 200 requests (answers take about 3.3 s); the primary "
                        + "is SIGKILLed once all 200 are in flight. Every request completes on the standby: none is refused by "
                        + "the retry budget, since moving requests off a dead relay redirects load rather than multiplying it.",
                new ChaosCluster.SimTiming(0, 300, 12))) {
            s.load.burst(inFlight);
            io.understudy.testkit.Await.until(inFlight + " requests in flight at the provider via the primary", Duration.ofSeconds(20),
                    () -> countAttempts(s.cluster.simAttempts()) >= inFlight);
            s.inject("SIGKILL the primary relay process", s.cluster.primary::kill);
            io.understudy.testkit.Await.until("the whole burst ended", Duration.ofSeconds(40), () -> s.load.finished().size() >= inFlight);
            ScenarioResult r = s.finish("primary", "standby");
            long refused = s.cluster.agentStatus().path("retry_budget").path("exhausted_total").asLong();
            r.check(r.allComplete(), "every request completes, streams included");
            // a resumed stream keeps the headers of its first byte (the primary's); a whole answer names its server
            r.check(r.records().stream().filter(q -> !q.stream()).allMatch(q -> q.tier().equals("standby")),
                    "every non-streamed request was answered by the standby");
            r.check(refused == 0, "the retry budget refused nothing, refused " + refused);
            s.verdict(r);
        }
    }

    /**
     * Regression: 500 concurrent streams on 2 cores timed both relays' probes out while they answered; both were
     * marked down and 1,180 requests in flight were re-issued, some to the direct tier.
     */
    @Test
    void s20BurstWithEveryRelayHealthyEjectsNone() throws Exception {
        int burst = 800;
        try (Scenario s = Scenario.start("20-burst-every-relay-healthy", "A burst of 800 requests at once, every relay healthy",
                "On an appliance serving 30 req/s (answers take about 0.8 s), agent on config/agent.yaml as shipped, 800 "
                        + "more requests arrive at once and saturate both cores; the relays' probes time out while they "
                        + "answer. That is busy, not dead: no relay is marked down, the agent re-issues nothing, every "
                        + "request completes, none goes to the direct tier, and at least 95% are answered by the primary.",
                ChaosCluster.AgentProfile.SHIPPED, new ChaosCluster.SimTiming(0, 20, 40))) {
            int before = s.load.finished().size();
            s.load.burst(burst);
            io.understudy.testkit.Await.until("the whole burst ended", Duration.ofSeconds(60),
                    () -> s.load.finished().size() >= before + burst);
            long markedDown = s.cluster.relaysMarkedDown();
            long excused = s.cluster.probeTimeoutsExcused();
            long failovers = s.cluster.agentStatus().path("counters").path("failovers").asLong();
            ScenarioResult r = s.finish("primary", "primary");
            r.note("probe verdicts: " + markedDown + " relay(s) marked down; " + failovers + " failovers; "
                    + excused + " probe timeouts excused as busy or starved");
            r.check(markedDown == 0, "no relay marked down, " + markedDown + " were");
            r.check(r.allComplete(), "every request completes, streams included");
            long fromPrimary = r.records().stream().filter(q -> q.tier().equals("primary")).count();
            r.note(fromPrimary + " of " + r.records().size() + " answered by the primary");
            r.check(failovers == 0, "the agent re-issued nothing, " + failovers + " failovers");
            r.check(r.records().stream().noneMatch(q -> q.tier().equals("direct")), "no answer from the direct tier");
            r.check(fromPrimary >= r.records().size() * 95L / 100, "at least 95% answered by the primary, " + fromPrimary);
            s.verdict(r);
        }
    }

    /**
     * Regression: on config/agent.yaml as shipped (first token 30 s, idle 30 s) a stream in flight on a primary
     * that went silent was rescued by its idle timeout, 30 s later, not by the probes' verdict.
     */
    @Test
    void s21SilentPrimaryWithStreamsInFlightOnTheShippedConfig() throws Exception {
        try (Scenario s = Scenario.start("21-silent-primary-shipped-config", "Primary silent with streams in flight, agent as shipped",
                "The agent runs on config/agent.yaml as shipped (probes every 0.5 s, every 0.125 s while requests are in "
                        + "flight, each not waiting for the last, 0.4 s timeout, 2 to fall, streams falling quiet together counting as "
                        + "the first: a silent relay is down 0.4 to 0.65 s after it fell silent; first token "
                        + "and idle 30 s). Once probes mark the silent "
                        + "primary down, every request waiting on it is re-issued and every stream flowing from it is resumed on "
                        + "the standby: every request completes, none more than 1.5 s later than normal (the verdict, plus a "
                        + "fresh request on the standby, which rehearsed its request paths before it listened).",
                ChaosCluster.AgentProfile.SHIPPED)) {
            s.inject("timeout toxic (0 = hold forever) on the primary's answers",
                    () -> s.cluster.primaryProxy.toxics().timeout("silent", ToxicDirection.DOWNSTREAM, 0));
            s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
            s.lift("remove the toxic", () -> Scenario.removeToxic(s.cluster.primaryProxy, "silent"));
            s.awaitSettled("primary", SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.worstAddedMs() <= 1500, "no request more than 1.5 s later than normal: worst added " + r.worstAddedMs() + " ms");
            r.check(r.allComplete(), "every request completes, streams included");
            s.verdict(r);
        }
    }

    private static long countAttempts(com.fasterxml.jackson.databind.JsonNode attemptLog) {
        long n = 0;
        for (com.fasterxml.jackson.databind.JsonNode a : attemptLog.path("attempts")) {
            if (a.path("model").asText().startsWith("chaos-")) {
                n++;
            }
        }
        return n;
    }
}
