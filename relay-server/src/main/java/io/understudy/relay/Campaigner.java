package io.understudy.relay;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.understudy.core.Json;
import io.understudy.core.Version;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdUnavailable;
import io.understudy.relay.LeadershipCycle.Action;
import io.understudy.relay.LeadershipCycle.Campaign;
import io.understudy.relay.LeadershipCycle.Decision;
import io.understudy.relay.LeadershipCycle.EtcdView;
import io.understudy.relay.LeadershipCycle.Facts;
import io.understudy.relay.LeadershipCycle.Lease;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The executor of a relay's leadership loop: every {@link #TICK} it gathers a snapshot (what etcd
 * says of the leader key and pending commands, its lease as the renewals report it, its campaign),
 * asks {@link LeadershipCycle#decide} what to do, and does it. It is the only writer of
 * {@link Leadership}. Every etcd call it makes is bounded by the op timeout, and a leader's claim
 * lapses on its own at the lease's safe time, so a cycle stuck in a slow call never leaves a stale
 * leader. It also keeps this relay's registration current and records the leadership history.
 */
final class Campaigner implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Campaigner.class.getName());
    private static final Duration TICK = Duration.ofMillis(100);

    /** Stops new work and waits (bounded) for work in flight; called before resigning. */
    @FunctionalInterface
    interface Drainer {
        void drain(Duration bound);
    }

    /** Counts leadership transitions (from, to). */
    @FunctionalInterface
    interface TransitionCounter {
        void count(Leadership.State from, Leadership.State to);
    }

    private final ClusterState cluster;
    private final Etcd etcd;
    private final String instance;
    private final RelayRole role;
    private final String url;
    private final Leadership leadership;
    private final Drainer drainer;
    private final Runnable undrain;
    private final Duration drainBound;
    private final Runnable warmUp;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String etcdError = "";
    private volatile Decision lastDecision = new Decision(new Action.Wait(), "starting");

    // owned by the loop thread
    private LeaseKeeper lease;
    private CompletableFuture<CampaignResponse> campaign;
    private LeaderKey wonKey;
    private long warmEpoch = -1;
    private ClusterState.Command promotedBy;
    private final long startedAt;
    private final LeaderSightings sightings = new LeaderSightings();
    private String waitingForCommand = "";
    private long waitingSince = -1;
    private String abandonedCommand = "";
    private String lastSeenCommand = "";
    private long lastRegistered;
    private LeaseKeeper presence;

    Campaigner(Etcd etcd, String instance, RelayRole role, String url, Leadership leadership, Drainer drainer,
               Runnable undrain, Duration drainBound, Runnable warmUp, TransitionCounter transitions, Clock clock) {
        this.etcd = etcd;
        this.cluster = new ClusterState(etcd);
        this.instance = instance;
        this.role = role;
        this.url = url;
        this.leadership = leadership;
        this.drainer = drainer;
        this.undrain = undrain;
        this.drainBound = drainBound;
        this.warmUp = warmUp;
        this.clock = clock;
        this.startedAt = clock.millis();
        leadership.onChange(c -> {
            transitions.count(c.from(), c.to().state());
            LOG.info(() -> "leadership of " + instance + ": " + c.from() + " -> " + c.to().state()
                    + (c.to().epoch() > 0 ? " epoch " + c.to().epoch() : "") + " (" + c.to().reason() + ")");
            register();
        });
        this.thread = Thread.ofPlatform().daemon(true).name("leadership-" + instance).start(this::loop);
    }

    /** The last etcd error, empty when the last call worked. */
    String etcdError() {
        return etcdError;
    }

    /** The last cycle's decision and why. */
    Decision lastDecision() {
        return lastDecision;
    }

    private void loop() {
        try {
            while (running) {
                Facts facts = gather();
                Decision decision = LeadershipCycle.decide(facts);
                log(decision);
                lastDecision = decision;
                carryOut(decision, facts);
                refreshRegistration();
                Thread.sleep(TICK);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            shutDown();
        }
    }

    // ------------------------------------------------------------------ gather

    private Facts gather() {
        // the campaign first, etcd after: a win that lands between the two reads must not meet a view of
        // etcd from before it (ci93: the standby won the moment the primary resigned, read the primary's
        // old key from just before, and stepped down, so a promotion never took)
        Campaign campaignView = campaignView();
        EtcdView etcdView = readEtcd();
        Lease leaseView = lease == null ? new Lease.None() : lease.view();
        return new Facts(clock.millis(), role, leadership.view(), etcdView, leaseView, campaignView,
                sightings.vacancy(startedAt), handoverView(etcdView));
    }

    private EtcdView readEtcd() {
        try {
            Optional<ClusterState.Leader> key = cluster.leader();
            Optional<ClusterState.Command> command = cluster.command();
            command.filter(c -> !c.id().equals(lastSeenCommand)).ifPresent(c -> {
                lastSeenCommand = c.id();
                LOG.info(() -> "leadership command seen by " + instance + ": " + c.action() + " to " + c.to());
            });
            sightings.read(clock.millis(), key.isPresent(), etcd.raftTerm());
            etcdError = "";
            return new EtcdView.Reachable(key, command);
        } catch (EtcdUnavailable e) {
            etcdError = e.getMessage();
            sightings.failed(clock.millis()); // no decision from stale data
            return new EtcdView.Unreachable(e.getMessage());
        }
    }

    private Campaign campaignView() {
        if (campaign == null) {
            return new Campaign.Idle();
        }
        if (!campaign.isDone()) {
            return new Campaign.Queued();
        }
        try {
            wonKey = campaign.join().getLeader();
            return new Campaign.Won(wonKey.getRevision(), warmEpoch == wonKey.getRevision());
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            return new Campaign.Failed(String.valueOf(e.getCause() == null ? e : e.getCause().getMessage()));
        }
    }

    /** Candidates are counted only while a switchover away from this leader is pending (one more read). */
    private LeadershipCycle.Handover handoverView(EtcdView etcdView) {
        if (!(etcdView instanceof EtcdView.Reachable r) || !leadership.view().leader()) {
            return new LeadershipCycle.Handover(0, -1, abandonedCommand);
        }
        Optional<ClusterState.Command> away = r.command().filter(c -> !c.to().equals(role.role().wireName()) && !c.force()
                && !c.id().equals(abandonedCommand));
        if (away.isEmpty()) {
            return new LeadershipCycle.Handover(0, -1, abandonedCommand);
        }
        int candidates;
        try {
            candidates = cluster.candidates();
        } catch (EtcdUnavailable e) {
            candidates = 0;
        }
        long since = away.get().id().equals(waitingForCommand) ? waitingSince : -1;
        return new LeadershipCycle.Handover(candidates, since, abandonedCommand);
    }

    // ------------------------------------------------------------------ carry out

    private void carryOut(Decision d, Facts f) {
        switch (d.action()) {
            case Action.Wait w -> {
            }
            case Action.Campaign c -> startCampaign(d, f);
            case Action.WarmUp w -> {
                warmUp.run(); // a cold standby opens its connection pools and model catalogue before it leads
                warmEpoch = w.epoch();
            }
            case Action.Claim c -> {
                // why we lead: the command that promoted us, else the one pending now
                Optional<ClusterState.Command> cause = promotedBy != null ? Optional.of(promotedBy) : pendingCommand(f);
                promotedBy = null;
                String campaignedBecause = leadership.view().reason();
                leadership.won(c.epoch(), c.until(), d.why());
                recordHistory(c.epoch(), cause, campaignedBecause);
            }
            case Action.Lead l -> {
                leadership.extendClaim(l.until());
                waitingForCommand = "";
            }
            case Action.StepDown s -> {
                dropCampaign(true);
                leadership.steppedDown(d.why());
            }
            case Action.GoCold g -> {
                dropCampaign(true);
                leadership.cold(d.why());
            }
            case Action.AwaitHandover a -> {
                leadership.extendClaim(a.until());
                if (!a.command().id().equals(waitingForCommand)) {
                    waitingForCommand = a.command().id();
                    waitingSince = f.now();
                }
            }
            case Action.AbandonHandover a -> {
                leadership.extendClaim(a.until());
                abandonedCommand = a.command().id();
                LOG.warning(() -> d.why());
            }
            case Action.HandOver h -> handOver(h.command(), d.why());
        }
    }

    private void startCampaign(Decision d, Facts f) {
        if (leadership.view().state() != Leadership.State.CANDIDATE) {
            promotedBy = pendingCommand(f).filter(c -> c.to().equals(role.role().wireName())).orElse(null);
            leadership.campaigning(d.why());
        }
        dropCampaign(true);
        try {
            lease = LeaseKeeper.grant(etcd, clock, instance);
            ObjectNode value = Json.object().put("instance", instance).put("role", role.role().wireName()).put("url", url);
            campaign = etcd.client().getElectionClient().campaign(etcd.electionName(), lease.id(), Etcd.bytes(Json.text(value)));
        } catch (EtcdUnavailable e) {
            etcdError = e.getMessage(); // the next cycle decides (campaign again, or step down if etcd is gone)
        }
    }

    /** Graceful: stop new work, drain, resign, give the lease up; then queue behind the new leader, or go cold. */
    private void handOver(ClusterState.Command command, String why) {
        LOG.info(() -> why);
        leadership.draining(why);
        drainer.drain(drainBound);
        if (!(lease.view() instanceof Lease.Alive a) || clock.millis() >= a.safeUntil()) {
            dropCampaign(false);
            leadership.steppedDown("the lease lapsed while draining for " + command.action() + " to " + command.to());
            undrain.run();
            return;
        }
        leadership.withdrawClaim(); // the successor may claim the moment the key is gone
        try {
            etcd.await(etcd.client().getElectionClient().resign(wonKey));
        } catch (EtcdUnavailable e) {
            LOG.warning(() -> "resign failed (" + e.getMessage() + "); revoking the lease instead");
        }
        dropCampaign(true);
        undrain.run();
        if (role.queuesAfterLeading()) {
            leadership.campaigning("handed over to " + command.to() + "; queueing behind it");
        } else {
            leadership.cold("handed over to " + command.to() + "; a " + role.role().wireName() + " goes cold again");
        }
    }

    /** Cancels the campaign and gives the lease up ({@code revoke}: tell etcd now, else let it lapse). */
    private void dropCampaign(boolean revoke) {
        if (campaign != null && !campaign.isDone()) {
            campaign.cancel(true);
        }
        campaign = null;
        wonKey = null;
        warmEpoch = -1;
        if (lease != null) {
            lease.close(revoke);
            lease = null;
        }
    }

    private static Optional<ClusterState.Command> pendingCommand(Facts f) {
        return f.etcd() instanceof EtcdView.Reachable r ? r.command() : Optional.empty();
    }

    private void log(Decision d) {
        Decision last = lastDecision;
        if (!last.action().getClass().equals(d.action().getClass())) {
            LOG.info(() -> "leadership cycle of " + instance + ": " + d.why());
        }
    }

    private void recordHistory(long epoch, Optional<ClusterState.Command> command, String campaignedBecause) {
        try {
            String from = cluster.history().stream().reduce((a, b) -> b).map(h -> h.path("to").asText()).orElse("");
            boolean asked = command.isPresent() && command.get().to().equals(role.role().wireName());
            ObjectNode entry = Json.object()
                    .put("time", Instant.ofEpochMilli(clock.millis()).toString())
                    .put("from", from)
                    .put("to", instance)
                    .put("to_role", role.role().wireName())
                    .put("epoch", epoch)
                    .put("who", asked ? command.get().who() : "automatic")
                    .put("why", asked ? command.get().action() + ": " + command.get().reason() + (command.get().force() ? " (forced)" : "")
                            : campaignedBecause.isEmpty() ? "elected" : "elected; " + campaignedBecause);
            cluster.appendHistory(epoch, entry);
            if (asked) {
                cluster.clearCommand(command.get());
            }
        } catch (RuntimeException e) {
            LOG.warning(() -> "could not record leadership history: " + e.getMessage());
        }
    }

    private void refreshRegistration() {
        if (clock.millis() - lastRegistered >= 1000) {
            register();
        }
    }

    /**
     * Keeps this relay's registration current: a timestamped put, refreshed every second, on a
     * presence lease of its own (not the election's, which a step-down gives up): etcd deletes it
     * one lease TTL after the relay died. A presence lease that lapsed (etcd was unreachable that
     * long) is replaced by a new one.
     */
    private void register() {
        lastRegistered = clock.millis();
        try {
            if (presence == null || presence.view() instanceof Lease.Gone) {
                if (presence != null) {
                    presence.close();
                }
                presence = null;
                presence = LeaseKeeper.grant(etcd, clock, instance + "-presence");
            }
            Leadership.View v = leadership.view();
            cluster.register("members", instance, Json.object().put("instance", instance).put("role", role.role().wireName()).put("url", url)
                    .put("version", Version.current()).put("leadership", v.state().name().toLowerCase(java.util.Locale.ROOT))
                    .put("epoch", v.epoch()).put("since", Instant.ofEpochMilli(v.sinceMillis()).toString())
                    .put("cycle", lastDecision.why())
                    .put("updated_ms", clock.millis()), presence.id());
        } catch (RuntimeException e) {
            LOG.fine(() -> "registration of " + instance + " in etcd failed: " + e.getMessage());
        }
    }

    /** On close: a leader resigns so the next candidate takes over at once; the lease is given up. */
    private void shutDown() {
        leadership.withdrawClaim();
        if (leadership.view().leader() && wonKey != null) {
            try {
                etcd.await(etcd.client().getElectionClient().resign(wonKey));
            } catch (RuntimeException ignored) {
                // the lease will lapse anyway
            }
        }
        dropCampaign(true);
        if (presence != null) {
            presence.close(true); // a relay shut down leaves the member list at once
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(TICK.toMillis() * 3 + 3 * etcd.settings().opTimeout().toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(TimeUnit.SECONDS.toMillis(2));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
