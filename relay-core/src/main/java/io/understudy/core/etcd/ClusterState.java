package io.understudy.core.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The cluster's shared facts in etcd, in one place. Keys under {@code /understudy/<cluster>/}:
 * <ul>
 *   <li>{@code leader/<lease>}: the election (etcd Election API); the winner's key revision is the epoch;</li>
 *   <li>{@code members/<instance>}: each relay's registration (leased);</li>
 *   <li>{@code agents/<id>}: each agent's view (leased);</li>
 *   <li>{@code command}: a pending promote or switchover;</li>
 *   <li>{@code history/<epoch>}: the audit log of leadership changes.</li>
 * </ul>
 */
public final class ClusterState {
    /** The current leader as etcd says: its registration value and epoch. */
    public record Leader(String instance, String role, String url, long epoch, long lease) {
    }

    /** A request to move leadership. {@code to} is a role: primary or standby. */
    public record Command(String id, String action, String to, String reason, String who, boolean force, long atMillis) {
        public ObjectNode toJson() {
            return Json.object().put("id", id).put("action", action).put("to", to).put("reason", reason).put("who", who)
                    .put("force", force).put("at_ms", atMillis);
        }

        static Command from(JsonNode n) {
            return new Command(n.path("id").asText(), n.path("action").asText(), n.path("to").asText(),
                    n.path("reason").asText(""), n.path("who").asText(""), n.path("force").asBoolean(false),
                    n.path("at_ms").asLong());
        }
    }

    private final EtcdKv etcd;
    private final String prefix;

    public ClusterState(EtcdKv etcd) {
        this.etcd = etcd;
        this.prefix = etcd.settings().prefix();
    }

    public EtcdSettings settings() {
        return etcd.settings();
    }

    /** The leader, or empty when the leader key is vacant. Throws {@link EtcdUnavailable} when etcd is. */
    public Optional<Leader> leader() {
        return etcd.electionLeader(etcd.settings().electionName()).map(ClusterState::leaderFrom);
    }

    /** The leader described by an election key-value: epoch = the key's create revision. */
    public static Leader leaderFrom(EtcdKv.Entry kv) {
        JsonNode value = parse(kv.value());
        return new Leader(value.path("instance").asText("?"), value.path("role").asText("?"), value.path("url").asText(""),
                kv.createRevision(), kv.lease());
    }

    /** How many relays are campaigning (the leader included). */
    public int candidates() {
        return (int) etcd.countPrefix(etcd.settings().electionName() + "/");
    }

    /** Writes a registration; {@code value} carries {@code updated_ms}, refreshed by its owner every second. */
    public void register(String kind, String name, ObjectNode value) {
        etcd.put(prefix + kind + "/" + name, Json.text(value), 0);
    }

    /**
     * Writes a registration bound to {@code lease}: etcd deletes it when the lease lapses, so an owner
     * that died leaves within one lease TTL.
     */
    public void register(String kind, String name, ObjectNode value, long lease) {
        etcd.put(prefix + kind + "/" + name, Json.text(value), lease);
    }

    /**
     * Registered relays ({@code kind} "members") or agents ("agents"), by key order, leaving out entries
     * not refreshed for three lease TTLs (their owner is gone).
     */
    public List<JsonNode> registered(String kind) {
        long staleBefore = System.currentTimeMillis() - 3 * etcd.settings().leaseTtl().toMillis();
        List<JsonNode> out = new ArrayList<>();
        for (EtcdKv.Entry kv : etcd.prefix(prefix + kind + "/")) {
            JsonNode node = parse(kv.value());
            if (node.path("updated_ms").asLong(0) >= staleBefore) {
                out.add(node);
            }
        }
        return out;
    }

    public Optional<Command> command() {
        return etcd.get(prefix + "command").map(kv -> Command.from(parse(kv.value())));
    }

    public void putCommand(Command command) {
        etcd.put(prefix + "command", Json.text(command.toJson()), 0);
    }

    public void clearCommand() {
        etcd.delete(prefix + "command");
    }

    /** Deletes the command only if it is still {@code command}: a newer one written meanwhile stays. */
    public void clearCommand(Command command) {
        etcd.deleteIfValue(prefix + "command", Json.text(command.toJson()));
    }

    public void appendHistory(long epoch, ObjectNode entry) {
        etcd.put(prefix + "history/" + String.format("%020d", epoch), Json.text(entry), 0);
    }

    /** The audit log, oldest first. */
    public List<JsonNode> history() {
        return etcd.prefix(prefix + "history/").stream().map(kv -> parse(kv.value())).toList();
    }

    /** Seconds left on a lease, or -1 when it is gone. */
    public long leaseSecondsLeft(long lease) {
        return etcd.leaseSecondsLeft(lease);
    }

    /** Fencing: revoking the leader's lease deletes its key at once; the next candidate wins. */
    public void revoke(long lease) {
        etcd.revoke(lease);
    }

    /** A JSON document, or an empty object when the text is not one (a value written by something else). */
    static JsonNode parse(String text) {
        try {
            JsonNode node = Json.parse(text);
            return node == null ? Json.object() : node;
        } catch (IOException e) {
            return Json.object();
        }
    }
}
