package io.understudy.chaos;

import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.chaos.RequestRecord.Outcome;
import io.understudy.testkit.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Leadership under faults: etcd cut off, down, restarted, a member lost; a frozen leader; a promotion. */
@ExtendWith(ChaosReportPage.class)
class LeadershipChaosTest {
    private static final Duration SERVE = Duration.ofSeconds(20);

    /** Epochs the agent saw never go down, and each epoch belongs to one leader only. */
    private static void checkEpochs(ScenarioResult r, List<Scenario.Sample> samples) {
        long highest = 0;
        java.util.Map<Long, String> owners = new java.util.HashMap<>();
        for (Scenario.Sample x : samples) {
            if (x.epoch() == 0 || x.leader().isEmpty()) {
                continue;
            }
            r.check(x.epoch() >= highest, "the agent's epoch went down at " + x.atMs() + " ms: " + highest + " -> " + x.epoch());
            highest = Math.max(highest, x.epoch());
            String owner = owners.putIfAbsent(x.epoch(), x.leader());
            r.check(owner == null || owner.equals(x.leader()), "epoch " + x.epoch() + " claimed by " + owner + " and " + x.leader());
        }
    }

    private static void checkHistory(ScenarioResult r, Scenario s) {
        long last = 0;
        for (var entry : s.cluster.history()) {
            long epoch = entry.path("epoch").asLong();
            r.check(epoch > last, "leadership history epochs strictly increase: " + last + " then " + epoch);
            last = epoch;
        }
    }

    @Test
    void s09PrimaryCutOffFromEtcd() throws Exception {
        try (Scenario s = Scenario.start("09-primary-cut-off-from-etcd", "Primary cut off from etcd only",
                "The primary steps down on its own before its lease can lapse; the standby wins a higher epoch and "
                        + "traffic follows it; no epoch ever goes down or has two owners; every request completes.")) {
            leaderCutOffFromEtcd(s);
        }
    }

    /** The primary loses etcd while it leads; then its link comes back and it queues behind the standby. */
    private static void leaderCutOffFromEtcd(Scenario s) throws Exception {
        long epochBefore = s.cluster.agentEpoch();
        s.inject("disable the primary's link to etcd", s.cluster.etcdPrimary::disable);
        Await.until("standby-1 leads and the agent follows", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
        Await.until("primary-1 stepped down", SERVE,
                () -> s.cluster.relayReady(s.cluster.primaryPort).path("leadership").asText().equals("stepped_down"));
        s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
        s.lift("restore the primary's link to etcd", s.cluster.etcdPrimary::enable);
        Await.until("primary-1 campaigns again behind the standby", SERVE,
                () -> s.cluster.relayReady(s.cluster.primaryPort).path("leadership").asText().equals("candidate"));
        s.awaitSettled("standby", SERVE);
        ScenarioResult r = s.finish("primary", "standby");
        r.check(r.allComplete(), "every request completes");
        r.check(s.cluster.agentEpoch() > epochBefore, "epoch increased: " + epochBefore + " -> " + s.cluster.agentEpoch());
        checkEpochs(r, s.samples());
        checkHistory(r, s);
        s.verdict(r);
    }

    @Test
    void s10EtcdDown() throws Exception {
        try (Scenario s = Scenario.start("10-etcd-down", "etcd down for 6 s",
                "No leadership change: the agents keep following primary-1 and every request completes on the primary "
                        + "tier, during and after the outage; afterwards primary-1 holds leadership again in etcd.")) {
            s.inject("SIGKILL etcd", s.cluster.etcd::stop);
            s.awaitClock(6000);
            s.lift("start etcd again (same data)", s.cluster.etcd::start);
            Await.until("primary-1 leads in etcd again", SERVE,
                    () -> s.cluster.state.leader().map(l -> l.instance().equals("primary-1")).orElse(false));
            Await.until("the agent's view is current again", SERVE,
                    () -> s.cluster.agentStatus().path("leader").path("etcd_error").asText().isEmpty());
            s.runFor(2 * s.rate, SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.records().stream().allMatch(q -> q.outcome() == Outcome.COMPLETE && q.tier().equals("primary")),
                    "every request completes on the primary tier");
            r.check(s.samples().stream().allMatch(x -> x.leader().equals("primary-1")), "the agent followed primary-1 throughout");
            s.verdict(r);
        }
    }

    @Test
    void s11EtcdRestarted() throws Exception {
        try (Scenario s = Scenario.start("11-etcd-restarted", "etcd restarted: agents resubscribe",
                "After etcd restarts, the agent's watch is live again: a leadership change made after the restart "
                        + "(promote standby) reaches the agent within 2 s; every request completes.")) {
            long subscriptionsBefore = s.cluster.agentStatus().path("leader").path("subscriptions").asLong();
            s.inject("restart etcd (SIGKILL, start on the same data)", () -> {
                s.cluster.etcd.stop();
                s.cluster.etcd.start();
            });
            Await.until("the agent resubscribed", SERVE,
                    () -> s.cluster.agentStatus().path("leader").path("subscriptions").asLong() > subscriptionsBefore);
            s.lift("etcd is back", () -> { });
            Await.until("primary-1 leads in etcd", SERVE,
                    () -> s.cluster.state.leader().map(l -> l.instance().equals("primary-1")).orElse(false));
            CliRun promote = CliRun.run(s.logs(), "promote", "standby", "--etcd", s.cluster.etcd.endpoint(), "--cluster",
                    ChaosCluster.CLUSTER, "--reason", "chaos: after etcd restart");
            long promotedAt = s.now();
            Await.until("the agent follows standby-1", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
            long followMs = s.now() - promotedAt;
            s.awaitSettled("standby", SERVE);
            ScenarioResult r = s.finish("primary", "standby");
            r.note("promote exit " + promote.exit() + ": " + promote.output().strip());
            r.note("agent followed the new leader " + followMs + " ms after promote returned");
            r.check(promote.exit() == 0, "promote succeeded: " + promote.output());
            r.check(followMs <= 2000, "agent followed within 2 s, took " + followMs + " ms");
            r.check(r.allComplete(), "every request completes");
            s.verdict(r);
        }
    }

    @Test
    void s13PrimaryFrozenBeyondLease() throws Exception {
        try (Scenario s = Scenario.start("13-primary-frozen-sigstop", "Primary frozen (SIGSTOP) beyond the lease TTL, then SIGCONT",
                "No split brain: the standby wins a higher epoch while the primary is frozen; after SIGCONT the primary "
                        + "finds its lease gone and never leads with its stale epoch; the agent never goes back to it; "
                        + "every non-streamed request completes.")) {
            long epochBefore = s.cluster.agentEpoch();
            s.inject("SIGSTOP the primary", s.cluster.primary::freeze);
            Await.until("standby-1 leads", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
            s.awaitCompleted("standby serving", "standby", 2 * s.rate, SERVE);
            s.lift("SIGCONT the primary", s.cluster.primary::thaw);
            Await.until("primary-1 no longer claims leadership", SERVE, () -> {
                String state = s.cluster.relayReady(s.cluster.primaryPort).path("leadership").asText();
                return state.equals("candidate") || state.equals("stepped_down");
            });
            s.awaitSettled("standby", SERVE);
            ScenarioResult r = s.finish("primary", "standby");
            long thawedAt = r.faultEndMs();
            r.check(s.samples().stream().filter(x -> x.atMs() > thawedAt).allMatch(x -> x.leader().equals("standby-1")),
                    "after SIGCONT the agent follows standby-1 only");
            r.check(s.cluster.agentEpoch() > epochBefore, "epoch increased");
            r.check(r.records().stream().filter(q -> q.startMs() > thawedAt && q.epoch() > 0)
                    .allMatch(q -> q.epoch() >= s.cluster.agentEpoch()), "no answer after SIGCONT carries a stale leader epoch");
            r.note("stale leader claims the agent rejected: " + s.samples().stream().mapToLong(Scenario.Sample::rejectedStaleEpochs).max().orElse(0));
            r.check(r.allPlainComplete(), "every non-streamed request completes");
            checkEpochs(r, s.samples());
            checkHistory(r, s);
            s.verdict(r);
        }
    }

    @Test
    void s16PromoteStandbyUnderLoad() throws Exception {
        try (Scenario s = Scenario.start("16-promote-standby", "promote standby under load",
                "A planned promotion loses nothing: every request completes, streams included; the primary drains "
                        + "before it resigns; traffic follows the new leader.")) {
            CliRun[] promote = new CliRun[1];
            s.inject("bin/understudy promote standby", () -> promote[0] = CliRun.run(s.logs(), "promote", "standby", "--etcd",
                    s.cluster.etcd.endpoint(), "--cluster", ChaosCluster.CLUSTER, "--reason", "chaos: planned promotion"));
            s.lift("promotion returned", () -> { });
            Await.until("the agent follows standby-1", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
            s.awaitSettled("standby", SERVE);
            ScenarioResult r = s.finish("primary", "standby");
            r.note("promote exit " + promote[0].exit() + ": " + promote[0].output().strip());
            r.check(promote[0].exit() == 0, "promote succeeded");
            r.check(r.allComplete(), "every request completes");
            checkEpochs(r, s.samples());
            checkHistory(r, s);
            s.verdict(r);
        }
    }

    @Test
    void s18EtcdMemberLost() throws Exception {
        try (Scenario s = Scenario.start("18-etcd-member-killed", "One member of a 3-member etcd cluster killed",
                "Nothing changes: the same leader with the same epoch, every request completes on the primary. "
                        + "With the default lease TTL (5 s): an etcd leader election can take over a second on two busy "
                        + "cores, more than the 1.5 s a 2 s lease leaves its holder to renew.", 3, 30,
                ChaosCluster.DEFAULT_LEASE_TTL)) {
            long epochBefore = s.cluster.agentEpoch();
            s.inject("SIGKILL etcd member m0", () -> s.cluster.etcdCluster.kill(0));
            s.awaitClock(6000);
            s.lift("(the member stays dead)", () -> { });
            s.runFor(2 * s.rate, SERVE);
            ScenarioResult r = s.finish("primary", "primary");
            r.check(r.records().stream().allMatch(q -> q.outcome() == Outcome.COMPLETE && q.tier().equals("primary")),
                    "every request completes on the primary tier");
            r.check(s.samples().stream().allMatch(x -> x.leader().equals("primary-1") && x.epoch() == epochBefore),
                    "same leader and epoch throughout (epoch " + epochBefore + ")");
            r.check(s.cluster.state.leader().map(l -> l.epoch() == epochBefore).orElse(false), "etcd still shows epoch " + epochBefore);
            s.verdict(r);
        }
    }

    @Test
    void s24LeaseLostDuringPromotionWarmUp() throws Exception {
        try (Scenario s = Scenario.start("24-lease-lost-during-warm-up", "The promoted standby's lease revoked while it warms up",
                "The standby wins the election on promotion, and its lease is revoked while it warms up (its provider's "
                        + "model list held 1.5 s). It never claims that epoch: it steps down and goes cold, the primary "
                        + "queued behind it leads again, and the promotion is carried out on a fresh lease after. No two "
                        + "relays ever claim leadership at once; every request completes.")) {
            s.cluster.providerForStandby.toxics().latency("slow-warm-up", ToxicDirection.DOWNSTREAM, 1500);
            long[] revoked = new long[2]; // epoch, lease
            CliRun[] promote = new CliRun[1];
            Thread cli = Thread.ofVirtual().start(() -> {
                try {
                    promote[0] = CliRun.run(s.logs(), "promote", "standby", "--etcd", s.cluster.etcd.endpoint(), "--cluster",
                            ChaosCluster.CLUSTER, "--reason", "chaos: promotion whose lease is lost during warm-up");
                } catch (IOException e) {
                    promote[0] = new CliRun(-1, e.toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            s.inject("revoke standby-1's lease the moment it wins", () -> {
                var won = Await.value("standby-1 wins the election", SERVE, () -> s.cluster.state.leader()
                        .filter(l -> l.instance().equals("standby-1")).orElse(null));
                revoked[0] = won.epoch();
                revoked[1] = won.lease();
                s.cluster.state.revoke(won.lease());
            });
            s.lift("(the warm-up slowness stays until the promotion is done)", () -> { });
            cli.join(Duration.ofSeconds(90));
            Scenario.removeToxic(s.cluster.providerForStandby, "slow-warm-up");
            Await.until("the agent follows standby-1", SERVE, () -> s.cluster.agentLeader().equals("standby-1"));
            s.awaitSettled("standby", SERVE);
            List<LeaderClaims.Observation> claims = s.claims();
            ScenarioResult r = s.finish("primary", "standby");
            r.note("revoked standby-1's lease " + Long.toHexString(revoked[1]) + " at epoch " + revoked[0]);
            r.note("promote exit " + (promote[0] == null ? "none" : promote[0].exit() + ": " + promote[0].output().strip()));
            r.check(promote[0] != null && promote[0].exit() == 0, "the promotion was carried out after all");
            r.check(claims.stream().noneMatch(c -> c.relay().equals("standby-1") && c.claims() && c.epoch() == revoked[0]),
                    "standby-1 never claimed epoch " + revoked[0] + ", whose lease was revoked before it claimed");
            r.check(s.cluster.history().stream().noneMatch(h -> h.path("epoch").asLong() == revoked[0]),
                    "the history never records epoch " + revoked[0]);
            r.check(r.allComplete(), "every request completes");
            checkEpochs(r, s.samples());
            checkHistory(r, s);
            s.verdict(r);
        }
    }

    @Test
    void s25LeaderCutOffFromEtcdAtLoad() throws Exception {
        try (Scenario s = Scenario.start("25-leader-cut-off-from-etcd-at-load", "Leader cut off from etcd at 60 req/s",
                "At twice the usual load, the primary is cut off from etcd: it stops claiming leadership before its lease "
                        + "can lapse, the standby wins a higher epoch and traffic follows it; no two relays ever claim "
                        + "leadership at once; every request completes, streams included.", 1, 60, ChaosCluster.FAST_LEASE_TTL)) {
            leaderCutOffFromEtcd(s);
        }
    }

    /** The real CLI as its own process. */
    record CliRun(int exit, String output) {
        static CliRun run(Path logs, String... args) throws IOException, InterruptedException {
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "-cp", System.getProperty("java.class.path"), "io.understudy.cli.ClusterMain")); // as bin/understudy runs them
            command.addAll(List.of(args));
            Path out = logs.resolve("cli-" + args[0] + ".log");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new CliRun(-1, "timed out after 60 s");
            }
            return new CliRun(p.exitValue(), Files.readString(out));
        }
    }
}
