package io.understudy.core.etcd;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * What an operator does to a cluster: move leadership to a role, gracefully or by force. Shared by
 * the CLI and the tests. Each outcome is a sealed result with a one-line message.
 */
public final class ClusterOps {
    /** The outcome of a promotion or switchover. */
    public sealed interface Result {
        String message();
    }

    public record Done(String message, ClusterState.Leader leader) implements Result {
    }

    public record Refused(String message) implements Result {
    }

    public record TimedOut(String message) implements Result {
    }

    private final ClusterState cluster;
    private final Clock clock;

    public ClusterOps(ClusterState cluster, Clock clock) {
        this.cluster = cluster;
        this.clock = clock;
    }

    /**
     * Moves leadership to the relay registered with role {@code to}. Graceful by default: the leader
     * stops taking new work, drains, and resigns once the target has queued. {@code force} fences the
     * leader instead: its lease is revoked, which works even when it is frozen or unreachable.
     */
    public Result moveLeadership(String action, String to, String reason, String who, boolean force, Duration timeout)
            throws InterruptedException {
        java.util.List<JsonNode> members = cluster.registered("members");
        Optional<JsonNode> target = members.stream().filter(m -> m.path("role").asText().equals(to)).findFirst();
        if (target.isEmpty()) {
            return new Refused("no " + to + " relay is registered in cluster '" + cluster.settings().cluster()
                    + "' (registered: " + members.stream().map(m -> m.path("instance").asText()).toList() + ")");
        }
        Optional<ClusterState.Leader> leader = cluster.leader();
        if (leader.isPresent() && leader.get().role().equals(to)) {
            return new Done(to + " " + leader.get().instance() + " already leads (epoch " + leader.get().epoch() + ")", leader.get());
        }
        if (!force && target.get().path("leadership").asText().equals("stepped_down")) {
            return new Refused(to + " " + target.get().path("instance").asText() + " is not healthy (stepped down: cannot renew "
                    + "its lease); use --force to override");
        }
        cluster.putCommand(new ClusterState.Command(UUID.randomUUID().toString(), action, to, reason, who, force, clock.millis()));
        long deadline = clock.millis() + timeout.toMillis();
        if (force && leader.isPresent()) {
            // the target must be queued before the leader is fenced, or the key would just be vacant
            while (cluster.candidates() < 2 && clock.millis() < deadline) {
                Thread.sleep(50);
            }
            cluster.revoke(leader.get().lease());
        }
        while (clock.millis() < deadline) {
            Optional<ClusterState.Leader> now = cluster.leader();
            if (now.isPresent() && now.get().role().equals(to)) {
                return new Done(to + " " + now.get().instance() + " leads now (epoch " + now.get().epoch() + ")", now.get());
            }
            Thread.sleep(50);
        }
        cluster.clearCommand();
        return new TimedOut(to + " did not take leadership within " + timeout.toSeconds() + " s; command withdrawn");
    }
}
