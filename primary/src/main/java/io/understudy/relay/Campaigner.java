package io.understudy.relay;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.understudy.core.Json;
import io.understudy.core.Version;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Drives one relay's {@link Leadership} against etcd: campaigns on a lease, renews it every
 * keep-alive period, steps down the moment a renewal fails (renew first; if renewal fails, step
 * down before anything else), hands leadership over when a command asks, and records history.
 * The renewer steps a leader down itself, at once, because the campaign thread may be blocked in an
 * etcd call just when the lease is failing; claiming and stepping down share one lock, so a claim
 * never lands on a lease already reported lost.
 * A standby starts cold and campaigns only when the leader key has been vacant for a grace period
 * or a command promotes it. Never claims leadership from stale data: only by winning the election.
 */
final class Campaigner implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Campaigner.class.getName());
    private static final Duration TICK = Duration.ofMillis(100);
    /** A cold standby waits this long on a vacant key, so a primary back from an etcd outage reclaims first. */
    private static final Duration VACANCY_GRACE = Duration.ofMillis(200);
    private static final Duration HANDOVER_WAIT = Duration.ofSeconds(10);
    /**
     * A cold standby that has never seen a leader since it started, or that has just failed to
     * reach etcd, waits this long before it takes a vacant key: a primary booting at the same moment,
     * or coming back from the same etcd outage, may take seconds more to campaign (cold jetcd client,
     * gRPC reconnect backoff). Without it a cluster boot or an etcd outage can hand leadership to
     * the standby by accident (chaos scenario 10, and scenario start-ups). A leader that dies after
     * the standby saw it lead is replaced after the usual {@link #VACANCY_GRACE}.
     */
    private static final Duration MIN_SETTLE_GRACE = Duration.ofSeconds(10);

    /** Stops new work and waits (bounded) for work in flight; called before resigning. */
    @FunctionalInterface
    interface Drainer {
        void drain(Duration bound);
    }

    private final ClusterState cluster;
    private final Etcd etcd;
    private final String instance;
    private final String role;
    private final String url;
    private final Leadership leadership;
    private final Drainer drainer;
    private final Runnable undrain;
    private final Duration drainBound;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String etcdError = "";
    private volatile long lastRegistered;
    private volatile String abandonedCommand = "";
    private volatile String lastSeenCommand = "";
    private volatile ClusterState.Command promotedBy;

    private final Runnable warmUp;

    Campaigner(Etcd etcd, String instance, RelayConfig.Role role, String url, Leadership leadership, Drainer drainer,
               Runnable undrain, Duration drainBound, Runnable warmUp, Clock clock) {
        this.warmUp = warmUp;
        this.etcd = etcd;
        this.cluster = new ClusterState(etcd);
        this.instance = instance;
        this.role = role.wireName();
        this.url = url;
        this.leadership = leadership;
        this.drainer = drainer;
        this.undrain = undrain;
        this.drainBound = drainBound;
        this.clock = clock;
        leadership.onChange(v -> {
            LOG.info(() -> "leadership of " + instance + ": " + v.state() + (v.epoch() > 0 ? " epoch " + v.epoch() : "")
                    + " (" + v.reason() + ")");
            register();
        });
        this.thread = Thread.ofPlatform().daemon(true).name("campaign-" + instance).start(this::run);
    }

    /** The last etcd error, empty when the last call worked. */
    String etcdError() {
        return etcdError;
    }

    private void run() {
        while (running) {
            try {
                if (leadership.view().state() == Leadership.State.COLD) {
                    String why = awaitVacancyOrPromotion();
                    if (why == null) {
                        return;
                    }
                    leadership.campaigning(why);
                }
                campaignAndLead();
                etcdError = "";
            } catch (Etcd.EtcdUnavailable | java.util.concurrent.CompletionException e) {
                etcdError = e.getMessage();
                Leadership.View v = leadership.view();
                if (v.state() != Leadership.State.COLD && v.state() != Leadership.State.STEPPED_DOWN) {
                    leadership.steppedDown("etcd unreachable: " + e.getMessage());
                }
                if (!pause(Duration.ofMillis(500))) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Whether a cold standby may take a key vacant since {@code vacantSince}. After {@link
     * #VACANCY_GRACE}, at once when it saw a leader since its last failed etcd call: that leader
     * has died. Otherwise only once {@code settleGrace} has passed since it started and since that
     * failure: a primary booting, or coming back from the same etcd outage, may still be on its way.
     */
    static boolean mayTakeVacantKey(long now, long vacantSince, boolean seenLeaderSinceFailure, long startedAt,
                                    long lastFailureAt, long settleGrace) {
        if (now - vacantSince < VACANCY_GRACE.toMillis()) {
            return false;
        }
        if (seenLeaderSinceFailure) {
            return true;
        }
        return now - startedAt >= settleGrace && (lastFailureAt < 0 || now - lastFailureAt >= settleGrace);
    }

    /** Cold standby: returns why to campaign, once the leader key is vacant for the grace period or we are promoted. */
    private String awaitVacancyOrPromotion() throws InterruptedException {
        long vacantSince = -1;
        long startedAt = clock.millis();
        boolean seenLeader = false;
        long reachableSince = -1; // since the last failed etcd call; -1: none yet
        long settleGrace = Math.max(MIN_SETTLE_GRACE.toMillis(), 2 * etcd.settings().leaseTtl().toMillis());
        while (running) {
            refreshRegistration();
            try {
                Optional<ClusterState.Command> command = cluster.command();
                if (command.isPresent() && command.get().to().equals(role)) {
                    promotedBy = command.get();
                    return "promoted by " + command.get().who() + ": " + command.get().reason();
                }
                if (cluster.leader().isPresent()) {
                    vacantSince = -1;
                    seenLeader = true;
                } else if (vacantSince < 0) {
                    vacantSince = clock.millis();
                } else if (mayTakeVacantKey(clock.millis(), vacantSince, seenLeader, startedAt, reachableSince, settleGrace)) {
                    return "leader key vacant for " + (clock.millis() - vacantSince) + " ms";
                }
                etcdError = "";
            } catch (Etcd.EtcdUnavailable e) {
                etcdError = e.getMessage();
                vacantSince = -1; // no decision from stale data
                reachableSince = clock.millis();
                seenLeader = false; // a leader seen before an outage says nothing about who comes back from it
            }
            Thread.sleep(TICK);
        }
        return null;
    }

    private void campaignAndLead() throws InterruptedException {
        long ttlSeconds = Math.max(2, etcd.settings().leaseTtl().toSeconds());
        long lease = etcd.await(etcd.client().getLeaseClient().grant(ttlSeconds)).getID();
        AtomicReference<String> lost = new AtomicReference<>();
        Thread renewer = Thread.ofPlatform().daemon(true).name("renew-" + instance).start(() -> renew(lease, lost));
        try {
            if (leadership.view().state() == Leadership.State.STEPPED_DOWN) {
                leadership.campaigning("campaigning again on a new lease");
            }
            ObjectNode value = Json.object().put("instance", instance).put("role", role).put("url", url);
            CompletableFuture<CampaignResponse> campaign = etcd.client().getElectionClient()
                    .campaign(cluster.electionName(), lease, Etcd.bytes(Json.text(value)));
            while (!campaign.isDone()) {
                refreshRegistration();
                if (!running) {
                    campaign.cancel(true);
                    return;
                }
                if (lost.get() != null) {
                    campaign.cancel(true);
                    throw new Etcd.EtcdUnavailable("lease lost while campaigning: " + lost.get(), null);
                }
                try {
                    campaign.get(TICK.toMillis(), TimeUnit.MILLISECONDS); // wakes the moment we win
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException stillWaiting) {
                    // loop: re-check the lease; an execution failure surfaces through join() below
                }
            }
            LeaderKey key = campaign.join().getLeader();
            long epoch = key.getRevision();
            // why we lead: the command that promoted us, else the one pending now (read at once: the
            // operator may issue the next command as soon as etcd shows us leading)
            Optional<ClusterState.Command> cause = promotedBy != null ? Optional.of(promotedBy) : readCommandQuietly();
            promotedBy = null;
            warmUp.run(); // a cold standby opens its connection pools and model catalogue before it leads
            if (!claim(leadership, epoch, lost)) {
                return; // the lease died during the warm-up: campaign again on a new one
            }
            recordHistory(epoch, cause);
            lead(key, lease, lost);
        } finally {
            renewer.interrupt();
        }
    }

    /**
     * The one place a relay becomes leader: it has won the election for {@code epoch}, and claims
     * leadership only if its lease is still alive. A lease lost meanwhile (during a promotion's
     * warm-up, which may take seconds) steps it down instead: never claim on a dead lease. The
     * renewer reports a lost lease under the same lock ({@link #reportLost}), so a lease cannot die
     * between the check and the claim unseen.
     */
    static boolean claim(Leadership leadership, long epoch, AtomicReference<String> lost) {
        synchronized (lost) {
            String failure = lost.get();
            if (failure != null) {
                leadership.steppedDown("won epoch " + epoch + " but did not claim it: " + failure);
                return false;
            }
            leadership.won(epoch);
            return true;
        }
    }

    /** The renewer's report: the lease is lost; a leader steps down at once (renew first, else step down). */
    static void reportLost(Leadership leadership, String failure, AtomicReference<String> lost) {
        synchronized (lost) {
            lost.set(failure);
            if (leadership.view().leader()) {
                leadership.steppedDown(failure);
            }
        }
    }

    /** Leads until the lease is lost or a command moves leadership away. */
    private void lead(LeaderKey key, long lease, AtomicReference<String> lost) throws InterruptedException {
        long lastCommandCheck = 0;
        while (running) {
            refreshRegistration();
            if (lost.get() != null) {
                return; // the renewer already stepped us down
            }
            if (clock.millis() - lastCommandCheck >= 250) {
                lastCommandCheck = clock.millis();
                Optional<ClusterState.Command> command = readCommandQuietly();
                if (command.isPresent() && !command.get().to().equals(role) && !command.get().force()
                        && !command.get().id().equals(abandonedCommand) && handOver(key, lease, command.get(), lost)) {
                    return;
                }
            }
            Thread.sleep(TICK);
        }
        try {
            etcd.await(etcd.client().getElectionClient().resign(key)); // shutting down: let the next one in at once
        } catch (RuntimeException ignored) {
            // the lease will lapse anyway
        }
    }

    /**
     * Graceful: wait for the target to queue, stop new work, drain, resign; then queue behind it.
     * False when the target never queued: this relay keeps leading.
     */
    private boolean handOver(LeaderKey key, long lease, ClusterState.Command command, AtomicReference<String> lost)
            throws InterruptedException {
        LOG.info(() -> "leadership handover to " + command.to() + " requested by " + command.who() + ": waiting for it to queue");
        long deadline = clock.millis() + HANDOVER_WAIT.toMillis();
        while (cluster.candidates() < 2) {
            if (lost.get() != null) {
                return true; // stepped down by the renewer: nothing to hand over
            }
            if (clock.millis() > deadline) {
                LOG.warning(() -> "leadership handover to " + command.to() + " abandoned: no candidate queued within " + HANDOVER_WAIT);
                abandonedCommand = command.id();
                return false;
            }
            Thread.sleep(TICK);
        }
        leadership.draining("handing over to " + command.to() + ": " + command.reason());
        drainer.drain(drainBound);
        if (lost.get() != null) {
            undrain.run();
            return true; // the lease died while draining: stepped down, nothing left to resign
        }
        etcd.await(etcd.client().getElectionClient().resign(key));
        etcd.await(etcd.client().getLeaseClient().revoke(lease));
        undrain.run();
        leadership.campaigning("handed over to " + command.to() + "; queued behind it");
        return true;
    }

    /**
     * Renews every keep-alive period. A failed renewal is retried every 100 ms, but only until the
     * safety deadline (last renewal + TTL - one keep-alive period): past it the leader steps down on
     * its own side, before the lease can have lapsed in etcd. A lease etcd no longer knows (revoked,
     * expired) steps down at once. Each attempt gets at most half a keep-alive period (and never
     * past the deadline), so several fit in the budget: one call stuck on an etcd member that just
     * died, or waiting out a raft election, must not spend it all (chaos scenario 18).
     */
    private void renew(long lease, AtomicReference<String> lost) {
        long lastRenewed = clock.millis();
        long safety = etcd.settings().leaseTtl().toMillis() - etcd.settings().keepAliveEvery().toMillis();
        long attemptBound = Math.min(etcd.settings().opTimeout().toMillis(), etcd.settings().keepAliveEvery().toMillis() / 2);
        Duration wait = etcd.settings().keepAliveEvery();
        while (running) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                return;
            }
            String failure = null;
            try {
                long left = safety - (clock.millis() - lastRenewed);
                Duration attempt = Duration.ofMillis(Math.max(50, Math.min(attemptBound, left)));
                long ttl = etcd.await(etcd.client().getLeaseClient().keepAliveOnce(lease), attempt).getTTL();
                if (ttl > 0) {
                    lastRenewed = clock.millis();
                    wait = etcd.settings().keepAliveEvery();
                    continue;
                }
                failure = "lease " + Long.toHexString(lease) + " is gone (revoked or expired)";
            } catch (RuntimeException e) {
                if (String.valueOf(e.getMessage()).contains("lease not found")) {
                    failure = "lease " + Long.toHexString(lease) + " is gone (revoked or expired)";
                } else if (clock.millis() - lastRenewed >= safety) {
                    failure = "lease not renewed for " + (clock.millis() - lastRenewed) + " ms: " + e.getMessage();
                } else {
                    wait = Duration.ofMillis(100); // retry before the safety deadline
                    continue;
                }
            }
            reportLost(leadership, failure, lost);
            return;
        }
    }

    private void recordHistory(long epoch, Optional<ClusterState.Command> command) {
        try {
            String from = cluster.history().stream().reduce((a, b) -> b).map(h -> h.path("to").asText()).orElse("");
            boolean asked = command.isPresent() && command.get().to().equals(role);
            ObjectNode entry = Json.object()
                    .put("time", Instant.ofEpochMilli(clock.millis()).toString())
                    .put("from", from)
                    .put("to", instance)
                    .put("to_role", role)
                    .put("epoch", epoch)
                    .put("who", asked ? command.get().who() : "automatic")
                    .put("why", asked ? command.get().action() + ": " + command.get().reason() + (command.get().force() ? " (forced)" : "")
                            : leadership.view().reason().isEmpty() ? "elected" : "elected; " + leadership.view().reason());
            cluster.appendHistory(epoch, entry);
            if (asked) {
                cluster.clearCommand(command.get());
            }
        } catch (RuntimeException e) {
            LOG.warning(() -> "could not record leadership history: " + e.getMessage());
        }
    }

    private Optional<ClusterState.Command> readCommandQuietly() {
        try {
            Optional<ClusterState.Command> command = cluster.command();
            command.filter(c -> !c.id().equals(lastSeenCommand)).ifPresent(c -> {
                lastSeenCommand = c.id();
                LOG.info(() -> "leadership command seen by " + instance + ": " + c.action() + " to " + c.to());
            });
            return command;
        } catch (RuntimeException e) {
            LOG.fine(() -> "leadership command not readable: " + e.getMessage());
            return Optional.empty();
        }
    }

    private void refreshRegistration() {
        if (clock.millis() - lastRegistered >= 1000) {
            register();
        }
    }

    /**
     * Keeps this relay's registration current: a timestamped put, refreshed every second. It is
     * information, not a safety fact, so it needs no lease: readers drop entries that stopped being
     * refreshed (see {@link ClusterState#registered}).
     */
    private void register() {
        lastRegistered = clock.millis();
        try {
            Leadership.View v = leadership.view();
            cluster.register("members", instance, Json.object().put("instance", instance).put("role", role).put("url", url)
                    .put("version", Version.current()).put("leadership", v.state().name().toLowerCase(java.util.Locale.ROOT))
                    .put("epoch", v.epoch()).put("since", Instant.ofEpochMilli(v.sinceMillis()).toString())
                    .put("updated_ms", clock.millis()));
        } catch (RuntimeException e) {
            LOG.fine(() -> "registration of " + instance + " in etcd failed: " + e.getMessage());
        }
    }

    /** False when interrupted (closing). */
    private static boolean pause(Duration d) {
        try {
            Thread.sleep(d);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Stops campaigning; a leader resigns first, so the next candidate takes over at once. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(TICK.toMillis() * 3 + etcd.settings().opTimeout().toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(TimeUnit.SECONDS.toMillis(2));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
