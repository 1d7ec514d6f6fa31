package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.agent.AgentConfig;
import io.understudy.chaos.RequestRecord.Outcome;
import io.understudy.testkit.Await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One chaos scenario: a fresh appliance, steady load through the agent, a fault injected and
 * lifted at recorded times, and the whole request history judged at the end. The report is
 * written before anything is asserted, so a failing run still shows what happened.
 */
final class Scenario implements AutoCloseable {
    /** The agent's retry budget in {@link ChaosCluster}: the one config/agent.yaml ships, read from it. */
    private static final io.understudy.core.failover.FailoverSettings.Budget BUDGET =
            AgentConfig.load("builtin:agent.yaml", java.util.Map.<String, String>of()::get).retryBudget();

    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    final String id;
    final String title;
    final String invariant;
    final int rate;
    /** What the appliance may add to provider-sim's own answer time and still count as keeping up with the load. */
    static final Duration KEEPING_UP_SLACK = Duration.ofMillis(500);
    final ChaosCluster cluster;
    final LoadDriver load;
    /** The agent's view, sampled every 100 ms while the scenario runs. */
    record Sample(long atMs, String leader, long epoch, long rejectedStaleEpochs, Map<String, String> health,
                  Map<String, String> circuit) {
    }

    private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon(true).name("agent-sampler").unstarted(r));
    private long faultStart = -1;
    /** Where the requests that showed the appliance keeping up began (ms into the run); 0 without warm-up. */
    private long steadyFrom;
    private long faultEnd = -1;
    private String faultName = "";
    /** Wall-clock time of the fault, to read the processes' logs against. */
    private java.time.LocalTime faultAt;
    private final long listenOverflowsAtStart = listenOverflows();
    /** Every relay's leadership claims, read from the relays themselves (none when the agent runs alone). */
    private final LeaderClaims claims;
    /** How long provider-sim itself takes to answer: what "keeping up" is judged against in the warm-up. */
    private final ChaosCluster.SimTiming simTiming;

    private Scenario(String id, String title, String invariant, int etcdMembers, int rate, Duration leaseTtl,
                     ChaosCluster.SimTiming simTiming, ChaosCluster.AgentProfile profile, String modelPrefix,
                     Map<String, String> headers) {
        this.id = id;
        this.title = title;
        this.invariant = invariant;
        this.rate = rate;
        this.simTiming = simTiming;
        this.cluster = new ChaosCluster(ChaosReport.dir().resolve("logs").resolve(id), etcdMembers, leaseTtl, simTiming, profile);
        this.load = cluster.load(rate, modelPrefix, headers);
        this.claims = cluster.primaryPort < 0 ? null
                : new LeaderClaims(Map.of("primary-1", cluster.primaryPort, "standby-1", cluster.standbyPort), this::now);
    }

    /** A fresh appliance with load running and settled on the primary. */
    static Scenario start(String id, String title, String invariant) {
        return start(id, title, invariant, 1, 30, ChaosCluster.FAST_LEASE_TTL);
    }

    /** The same with the agent on {@code profile}: {@code SHIPPED} runs it on config/agent.yaml as shipped. */
    static Scenario start(String id, String title, String invariant, ChaosCluster.AgentProfile profile) {
        return start(id, title, invariant, 1, 30, ChaosCluster.FAST_LEASE_TTL, profile, ChaosCluster.SimTiming.QUICK);
    }

    /** The same with every request's model named {@code modelPrefix<seq>} rather than chaos-<seq>. */
    static Scenario start(String id, String title, String invariant, ChaosCluster.AgentProfile profile, String modelPrefix) {
        return start(id, title, invariant, 1, 30, ChaosCluster.FAST_LEASE_TTL, profile, ChaosCluster.SimTiming.QUICK, modelPrefix);
    }

    /** The same with every request's model named {@code modelPrefix<seq>} and carrying {@code headers}. */
    static Scenario start(String id, String title, String invariant, String modelPrefix, Map<String, String> headers) {
        Scenario s = new Scenario(id, title, invariant, 1, 30, ChaosCluster.FAST_LEASE_TTL, ChaosCluster.SimTiming.QUICK,
                ChaosCluster.AgentProfile.CHAOS, modelPrefix, headers);
        return warmedUp(s, ChaosCluster.AgentProfile.CHAOS, 30);
    }

    /** The same with provider-sim answering at {@code simTiming}'s pace. */
    static Scenario start(String id, String title, String invariant, ChaosCluster.AgentProfile profile,
                          ChaosCluster.SimTiming simTiming) {
        return start(id, title, invariant, 1, 30, ChaosCluster.FAST_LEASE_TTL, profile, simTiming);
    }

    static Scenario start(String id, String title, String invariant, int etcdMembers, int rate, Duration leaseTtl) {
        return start(id, title, invariant, etcdMembers, rate, leaseTtl, ChaosCluster.AgentProfile.CHAOS,
                ChaosCluster.SimTiming.QUICK);
    }

    private static Scenario start(String id, String title, String invariant, int etcdMembers, int rate, Duration leaseTtl,
                                  ChaosCluster.AgentProfile profile, ChaosCluster.SimTiming simTiming) {
        return start(id, title, invariant, etcdMembers, rate, leaseTtl, profile, simTiming, "chaos-");
    }

    private static Scenario start(String id, String title, String invariant, int etcdMembers, int rate, Duration leaseTtl,
                                  ChaosCluster.AgentProfile profile, ChaosCluster.SimTiming simTiming, String modelPrefix) {
        return warmedUp(new Scenario(id, title, invariant, etcdMembers, rate, leaseTtl, simTiming, profile, modelPrefix, Map.of()),
                profile, rate);
    }

    private static Scenario warmedUp(Scenario s, ChaosCluster.AgentProfile profile, int rate) {
        try {
            s.load.start();
            s.sampler.scheduleAtFixedRate(s::sample, 0, 100, TimeUnit.MILLISECONDS);
            s.awaitCompleted("warm-up on the " + profile.steadyTier() + " tier", profile.steadyTier(), rate, Duration.ofSeconds(20));
            // the steady state begins with the requests that showed it: "usual" latency is theirs
            s.steadyFrom = s.awaitKeepingUp(profile.steadyTier(), Duration.ofSeconds(20));
            return s;
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    /**
     * A fresh appliance whose agent has served nothing yet: no warm-up and no steady load; the
     * scenario sends its own requests with {@link LoadDriver#burst}.
     */
    static Scenario cold(String id, String title, String invariant, ChaosCluster.SimTiming simTiming) {
        return cold(id, title, invariant, simTiming, ChaosCluster.AgentProfile.CHAOS);
    }

    static Scenario cold(String id, String title, String invariant, ChaosCluster.SimTiming simTiming,
                         ChaosCluster.AgentProfile profile) {
        Scenario s = new Scenario(id, title, invariant, 1, 1, ChaosCluster.FAST_LEASE_TTL, simTiming, profile, "chaos-", Map.of());
        s.sampler.scheduleAtFixedRate(s::sample, 0, 100, TimeUnit.MILLISECONDS);
        return s;
    }

    private void sample() {
        try {
            JsonNode st = cluster.agentStatus();
            Map<String, String> health = new TreeMap<>();
            Map<String, String> circuit = new TreeMap<>();
            for (JsonNode tier : st.path("tiers")) {
                for (JsonNode u : tier.path("upstreams")) {
                    health.put(u.path("name").asText(), u.path("health").asText());
                    circuit.put(u.path("name").asText(), u.path("circuit").asText());
                }
            }
            samples.add(new Sample(now(), st.path("leader").path("instance").asText(""), st.path("leader").path("epoch").asLong(),
                    st.path("leader").path("rejected_stale_epochs").asLong(), health, circuit));
        } catch (RuntimeException unreachable) {
            // the agent is up throughout; a missed sample is only a gap
        }
    }

    /** The relays' leadership claims read so far (empty when the agent runs alone). */
    List<LeaderClaims.Observation> claims() {
        return claims == null ? List.of() : claims.observations();
    }

    List<Sample> samples() {
        return List.copyOf(samples);
    }

    /**
     * Removes a toxic. Toxiproxy answers 503 while a toxic still holds data (a long latency), so
     * this retries until the toxic is gone, within a deadline.
     */
    static void removeToxic(eu.rekawek.toxiproxy.Proxy proxy, String name) {
        Await.until("toxic " + name + " removed", Duration.ofSeconds(30), () -> {
            try {
                proxy.toxics().get(name).remove();
                return true;
            } catch (java.io.IOException busy) {
                try {
                    return proxy.toxics().getAll().stream().noneMatch(t -> t.getName().equals(name));
                } catch (java.io.IOException e) {
                    return false;
                }
            }
        });
    }

    /** Waits until {@code n} requests started after now ended as {@code what} says. */
    void awaitRequests(String what, Predicate<RequestRecord> matching, int n, Duration timeout) {
        long from = now();
        Await.until(what, timeout, () -> load.finished().stream().filter(r -> r.startMs() >= from).filter(matching).count() >= n);
    }

    /**
     * How often the serving tier changed: requests grouped by start into {@code bucketMs} slices, each
     * slice labelled by the tier that served most of it. Requests in flight across a switch finish
     * on both tiers for a moment; slicing keeps that overlap from counting as flapping.
     */
    static int tierSwitches(List<RequestRecord> records, long bucketMs) {
        TreeMap<Long, Map<String, Integer>> buckets = new TreeMap<>();
        for (RequestRecord r : records) {
            if (r.outcome() == Outcome.COMPLETE) {
                buckets.computeIfAbsent(r.startMs() / bucketMs, k -> new HashMap<>()).merge(r.tier(), 1, Integer::sum);
            }
        }
        int switches = 0;
        String last = null;
        for (Map<String, Integer> tiers : buckets.values()) {
            String major = tiers.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            if (last != null && !last.equals(major)) {
                switches++;
            }
            last = major;
        }
        return switches;
    }

    /**
     * Waits until the load's clock has moved on by {@code ms}: the schedule of a fault that is
     * itself timed (flapping), not a synchronisation with the system under test.
     */
    void awaitClock(long ms) {
        long until = now() + ms;
        Await.until("fault schedule", Duration.ofMillis(ms + 5000), () -> now() >= until);
    }

    long now() {
        return load.now();
    }

    void inject(String what, Action action) {
        faultName = what;
        faultStart = now();
        faultAt = java.time.LocalTime.now();
        run(what, action);
    }

    void lift(String what, Action action) {
        run(what, action);
        faultEnd = now();
    }

    private static void run(String what, Action action) {
        try {
            action.run();
        } catch (Exception e) {
            throw new IllegalStateException("could not " + what + ": " + e.getMessage(), e);
        }
    }

    /** Waits until {@code n} requests started after now have completed on {@code tier}. */
    void awaitCompleted(String what, String tier, int n, Duration timeout) {
        long from = now();
        Await.until(what + " (" + n + " requests complete on " + tier + ")", timeout,
                () -> load.finished().stream().filter(r -> r.startMs() >= from && r.outcome() == Outcome.COMPLETE
                        && r.tier().equals(tier)).count() >= n);
    }

    /**
     * Waits until the appliance keeps up with the load: the last second's requests all completed on
     * {@code tier}, each (a stream: its first chunk) within {@link #KEEPING_UP_SLACK} of provider-sim's own
     * answer time. Faults are injected from that steady state, which "longer than usual" refers to.
     * Right after start a slower machine is still behind (measured on 2026-12-08: the first 60 requests
     * took a median 1.7 s while every JVM compiled at once; 200-350 ms from 7 s on), and a fault injected
     * then measured the start-up, not the failover. Returns where the requests that showed it began.
     */
    long awaitKeepingUp(String tier, Duration timeout) {
        long limit = simTiming.answerMillis() + KEEPING_UP_SLACK.toMillis();
        long[] windowStart = new long[1];
        Await.until("keeping up on " + tier + " (the last " + rate + " requests each within " + limit + " ms)", timeout, () -> {
            List<RequestRecord> done = load.finished();
            if (done.size() < rate) {
                return false;
            }
            List<RequestRecord> window = done.subList(done.size() - rate, done.size());
            windowStart[0] = window.getFirst().startMs();
            return window.stream().allMatch(r -> r.outcome() == Outcome.COMPLETE && r.tier().equals(tier)
                    && (r.stream() ? r.ttftMs() : r.latencyMs()) <= limit);
        });
        return windowStart[0];
    }

    /** Waits until the last {@code n} requests to finish all completed on {@code tier}. */
    void awaitSettled(String tier, Duration timeout) {
        long from = now();
        Await.until("traffic settled on " + tier, timeout, () -> {
            List<RequestRecord> recent = load.finished().stream().filter(r -> r.startMs() >= from).toList();
            return recent.size() >= rate && recent.subList(recent.size() - rate, recent.size()).stream()
                    .allMatch(r -> r.outcome() == Outcome.COMPLETE && r.tier().equals(tier));
        });
    }

    /** Lets the load run on for a while (measured in requests finished, not in sleeps). */
    void runFor(int requests, Duration timeout) {
        long from = now();
        Await.until(requests + " more requests", timeout,
                () -> load.finished().stream().filter(r -> r.startMs() >= from).count() >= requests);
    }

    /** Stops the load, counts provider calls per request, computes the result and writes the report. */
    ScenarioResult finish(String steadyTier, String recoveredTier) {
        stopSampling();
        List<RequestRecord> records = LoadDriver.withAttempts(load.stop(), cluster.simAttempts());
        JsonNode budget = cluster.agentStatus().path("retry_budget");
        long redirects = budget.path("redirects_total").asLong();
        ScenarioResult result = ScenarioResult.of(id, title, invariant, records, steadyFrom, faultStart < 0 ? Long.MAX_VALUE : faultStart,
                faultEnd, steadyTier, recoveredTier, now(), BUDGET.ratio(),
                (int) (BUDGET.reservePerSecond() * BUDGET.window().toSeconds()), BUDGET.window().toMillis(), redirects);
        result.note("fault: " + faultName + (faultAt == null ? "" : " (at " + faultAt.truncatedTo(java.time.temporal.ChronoUnit.MILLIS) + ")"));
        long overflows = listenOverflows() - listenOverflowsAtStart;
        if (overflows > 0) { // a connection the kernel dropped before any of our processes could accept it
            result.note("kernel listen-queue overflows during the run (any process on this host): " + overflows);
        }
        if (claims != null) {
            claims.close();
            List<LeaderClaims.Observation> seen = claims.observations();
            List<LeaderClaims.Span> spans = LeaderClaims.spans(seen);
            result.note("leadership claims read from the relays: " + seen.size() + " reads, " + spans.size()
                    + " spans of certain leadership " + spans.stream().map(x -> x.relay() + "@" + x.epoch() + " "
                    + x.fromMs() + "-" + x.toMs() + " ms").toList());
            Optional<String> split = LeaderClaims.overlaps(seen, 0);
            result.check(split.isEmpty(), "no two relays ever claimed leadership at once" + split.map(x -> ": " + x).orElse(""));
        }
        result.note("agent retry budget: " + budget.path("retries_total").asLong() + " retries, " + redirects
                + " redirects off upstreams out of rotation, " + budget.path("exhausted_total").asLong() + " refused");
        return result;
    }

    /** The host's count of connections dropped because a listen queue was full (TcpExt ListenOverflows), 0 if unknown. */
    private static long listenOverflows() {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/netstat"));
            for (int i = 0; i + 1 < lines.size(); i += 2) {
                String[] names = lines.get(i).split(" ");
                String[] values = lines.get(i + 1).split(" ");
                for (int k = 1; k < names.length && k < values.length; k++) {
                    if (names[k].equals("ListenOverflows")) {
                        return Long.parseLong(values[k]);
                    }
                }
            }
        } catch (java.io.IOException | RuntimeException unreadable) {
            // not Linux, or no procfs: the note is left out
        }
        return 0;
    }

    /** Writes the report for this result; call after the scenario's own checks. */
    void report(ScenarioResult result) {
        ChaosReport.write(result, faultName);
        System.out.println(result.summaryLine());
        result.violations().forEach(v -> System.out.println("  violation: " + v));
    }

    /** Writes the report, then fails the test with every violation if there is any. */
    void verdict(ScenarioResult result) {
        report(result);
        org.junit.jupiter.api.Assertions.assertTrue(result.passed(), id + " broke its invariants (logs: " + logs() + "):\n"
                + String.join("\n", result.violations()));
    }

    Path logs() {
        return cluster.dir;
    }

    private void stopSampling() {
        sampler.shutdownNow();
        try {
            sampler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopSampling();
        if (claims != null) {
            claims.close();
        }
        load.close();
        cluster.close();
    }
}
