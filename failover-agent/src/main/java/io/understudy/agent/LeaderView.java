package io.understudy.agent;

import io.etcd.jetcd.Election;
import io.etcd.jetcd.election.LeaderResponse;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The agent's view of who leads, followed through the etcd Election API. jetcd's observe does not
 * resubscribe after an error or completion, so this does, and it also reads the leader every second
 * as a heartbeat. While etcd is unreachable the last view is kept (no decision from stale data) and
 * its staleness is reported. Only claims with an epoch at least the current one are accepted.
 */
final class LeaderView implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LeaderView.class.getName());

    /** Who leads, from which epoch, and when this agent learnt it. */
    record Leader(String instance, String role, long epoch, long learntAtMillis) {
    }

    private final Etcd etcd;
    private final ClusterState cluster;
    private final Clock clock;
    private final Consumer<Leader> onChange;
    private final Semaphore resubscribe = new Semaphore(0);
    private final EpochFence fence = new EpochFence();
    private final String agentName;
    private final AtomicLong subscriptions = new AtomicLong();
    private final Thread thread;
    private volatile Leader current;
    private volatile long lastContactMillis;
    private volatile long unreachableSinceMillis;
    private volatile String lastError = "";
    private volatile boolean vacant;
    private volatile boolean running = true;

    private volatile Consumer<java.util.List<com.fasterxml.jackson.databind.JsonNode>> onMembers = m -> { };

    LeaderView(Etcd etcd, String agentName, Clock clock, Consumer<Leader> onChange) {
        this.agentName = agentName;
        this.etcd = etcd;
        this.cluster = new ClusterState(etcd);
        this.clock = clock;
        this.onChange = onChange;
        this.thread = Thread.ofPlatform().daemon(true).name("leader-view").start(this::run);
    }

    Optional<Leader> leader() {
        return Optional.ofNullable(current);
    }

    /** How long since etcd last answered, in ms (0 when it just did). */
    long staleMillis() {
        return lastContactMillis == 0 ? -1 : clock.millis() - lastContactMillis;
    }

    boolean vacant() {
        return vacant;
    }

    String lastError() {
        return lastError;
    }

    long rejectedStaleEpochs() {
        return fence.rejected();
    }

    long subscriptions() {
        return subscriptions.get();
    }

    /** A relay's answer claimed leadership with this epoch: older than ours is rejected. */
    boolean acceptClaim(String instance, long epoch) {
        if (!fence.admit(epoch)) {
            LOG.warning(() -> "rejected stale leadership claim from " + instance + ": epoch " + epoch + " < " + fence.current());
            return false;
        }
        return true;
    }

    private void run() {
        boolean subscribed = false;
        while (running) {
            try {
                if (!subscribed) {
                    subscribe();
                    subscribed = true;
                }
                refresh();
            } catch (RuntimeException e) {
                lastError = e.getMessage();
                if (unreachableSinceMillis == 0) {
                    unreachableSinceMillis = clock.millis();
                    LOG.warning(() -> "etcd unreachable; keeping the last known leader: " + e.getMessage());
                }
                subscribed = false;
            }
            try {
                // wake at once when the stream fails, else read the leader every second as a heartbeat
                if (resubscribe.tryAcquire(1, TimeUnit.SECONDS)) {
                    resubscribe.drainPermits();
                    subscribed = false;
                    Thread.sleep(100); // a little backoff against a flapping stream
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void subscribe() {
        subscriptions.incrementAndGet();
        etcd.client().getElectionClient().observe(etcd.electionName(), new Election.Listener() {
            @Override
            public void onNext(LeaderResponse response) {
                contact();
                accept(ClusterState.leaderFrom(Etcd.entry(response.getKv())));
            }

            @Override
            public void onError(Throwable error) {
                lastError = "observe failed: " + error.getMessage();
                resubscribe.release();
            }

            @Override
            public void onCompleted() {
                resubscribe.release();
            }
        });
    }

    private void refresh() {
        Optional<ClusterState.Leader> leader = cluster.leader();
        contact();
        vacant = leader.isEmpty();
        leader.ifPresent(this::accept);
        report();
        onMembers.accept(cluster.registered("members"));
    }

    /** Receives the registered relays every second (tier discovery). */
    void onMembers(Consumer<java.util.List<com.fasterxml.jackson.databind.JsonNode>> listener) {
        this.onMembers = listener;
    }

    /** The agent's view, for `understudy status` (timestamped, refreshed every second). */
    private void report() {
        Leader l = current;
        var view = io.understudy.core.Json.object().put("agent", agentName).put("updated_ms", clock.millis())
                .put("rejected_stale_epochs", fence.rejected());
        if (l != null) {
            view.put("leader", l.instance()).put("epoch", l.epoch())
                    .put("learnt_at", java.time.Instant.ofEpochMilli(l.learntAtMillis()).toString());
        }
        try {
            cluster.register("agents", agentName, view);
        } catch (RuntimeException e) {
            LOG.fine(() -> "could not report the view: " + e.getMessage()); // information only
        }
    }

    private void contact() {
        lastContactMillis = clock.millis();
        if (unreachableSinceMillis != 0) {
            long outage = clock.millis() - unreachableSinceMillis;
            unreachableSinceMillis = 0;
            lastError = "";
            LOG.info(() -> "etcd reachable again after " + outage + " ms; leader view is current");
        }
    }

    private void accept(ClusterState.Leader leader) {
        Leader next;
        synchronized (this) {
            Leader l = current;
            if (!fence.admit(leader.epoch())) {
                return;
            }
            vacant = false;
            if (l != null && l.epoch() == leader.epoch()) {
                return;
            }
            next = new Leader(leader.instance(), leader.role(), leader.epoch(), clock.millis());
            current = next;
        }
        LOG.info(() -> "leader is now " + next.instance() + " (" + next.role() + "), epoch " + next.epoch());
        onChange.accept(next);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
