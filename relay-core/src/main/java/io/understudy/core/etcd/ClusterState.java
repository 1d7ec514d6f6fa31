package io.understudy.core.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.election.NoLeaderException;
import io.etcd.jetcd.options.GetOption;
import io.understudy.core.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

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

    private final Etcd etcd;
    private final String prefix;

    public ClusterState(Etcd etcd) {
        this.etcd = etcd;
        this.prefix = etcd.settings().prefix();
    }

    public Etcd etcd() {
        return etcd;
    }

    public ByteSequence electionName() {
        return Etcd.bytes(etcd.settings().electionName());
    }

    /** The leader, or empty when the leader key is vacant. Throws {@link Etcd.EtcdUnavailable} when etcd is. */
    public Optional<Leader> leader() {
        try {
            LeaderResponse response = etcd.client().getElectionClient().leader(electionName())
                    .get(etcd.settings().opTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            return Optional.of(leaderFrom(response.getKv()));
        } catch (ExecutionException | CompletionException e) {
            if (isNoLeader(e)) {
                return Optional.empty();
            }
            throw new Etcd.EtcdUnavailable("etcd call failed: " + Etcd.rootMessage(e), e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new Etcd.EtcdUnavailable("etcd did not answer within " + etcd.settings().opTimeout().toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Etcd.EtcdUnavailable("interrupted", e);
        }
    }

    public static boolean isNoLeader(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof NoLeaderException) {
                return true;
            }
        }
        return false;
    }

    /** The leader described by an election key-value: epoch = the key's create revision. */
    public static Leader leaderFrom(KeyValue kv) {
        JsonNode value = parse(Etcd.text(kv.getValue()));
        return new Leader(value.path("instance").asText("?"), value.path("role").asText("?"), value.path("url").asText(""),
                kv.getCreateRevision(), kv.getLease());
    }

    /** How many relays are campaigning (the leader included). */
    public int candidates() {
        return (int) etcd.await(etcd.client().getKVClient().get(Etcd.bytes(etcd.settings().electionName() + "/"),
                GetOption.builder().isPrefix(true).withCountOnly(true).build())).getCount();
    }

    /** Writes a registration; {@code value} carries {@code updated_ms}, refreshed by its owner every second. */
    public void register(String kind, String name, ObjectNode value) {
        etcd.await(etcd.client().getKVClient().put(Etcd.bytes(prefix + kind + "/" + name), Etcd.bytes(Json.text(value))));
    }

    /**
     * Writes a registration bound to {@code lease}: etcd deletes it when the lease lapses, so an owner
     * that died leaves within one lease TTL.
     */
    public void register(String kind, String name, ObjectNode value, long lease) {
        etcd.await(etcd.client().getKVClient().put(Etcd.bytes(prefix + kind + "/" + name), Etcd.bytes(Json.text(value)),
                io.etcd.jetcd.options.PutOption.builder().withLeaseId(lease).build()));
    }

    /**
     * Registered relays ({@code kind} "members") or agents ("agents"), by key order, leaving out entries
     * not refreshed for three lease TTLs (their owner is gone).
     */
    public List<JsonNode> registered(String kind) {
        long staleBefore = System.currentTimeMillis() - 3 * etcd.settings().leaseTtl().toMillis();
        List<JsonNode> out = new ArrayList<>();
        for (KeyValue kv : etcd.await(etcd.client().getKVClient().get(Etcd.bytes(prefix + kind + "/"),
                GetOption.builder().isPrefix(true).build())).getKvs()) {
            JsonNode node = parse(Etcd.text(kv.getValue()));
            if (node.path("updated_ms").asLong(0) >= staleBefore) {
                out.add(node);
            }
        }
        return out;
    }

    public Optional<Command> command() {
        List<KeyValue> kvs = etcd.await(etcd.client().getKVClient().get(Etcd.bytes(prefix + "command"))).getKvs();
        return kvs.isEmpty() ? Optional.empty() : Optional.of(Command.from(parse(Etcd.text(kvs.get(0).getValue()))));
    }

    public void putCommand(Command command) {
        etcd.await(etcd.client().getKVClient().put(Etcd.bytes(prefix + "command"), Etcd.bytes(Json.text(command.toJson()))));
    }

    public void clearCommand() {
        etcd.await(etcd.client().getKVClient().delete(Etcd.bytes(prefix + "command")));
    }

    /** Deletes the command only if it is still {@code command}: a newer one written meanwhile stays. */
    public void clearCommand(Command command) {
        io.etcd.jetcd.ByteSequence key = Etcd.bytes(prefix + "command");
        etcd.await(etcd.client().getKVClient().txn()
                .If(new io.etcd.jetcd.op.Cmp(key, io.etcd.jetcd.op.Cmp.Op.EQUAL,
                        io.etcd.jetcd.op.CmpTarget.value(Etcd.bytes(Json.text(command.toJson())))))
                .Then(io.etcd.jetcd.op.Op.delete(key, io.etcd.jetcd.options.DeleteOption.DEFAULT))
                .commit());
    }

    public void appendHistory(long epoch, ObjectNode entry) {
        etcd.await(etcd.client().getKVClient().put(Etcd.bytes(prefix + "history/" + String.format("%020d", epoch)),
                Etcd.bytes(Json.text(entry))));
    }

    /** The audit log, oldest first. */
    public List<JsonNode> history() {
        List<JsonNode> out = new ArrayList<>();
        for (KeyValue kv : etcd.await(etcd.client().getKVClient().get(Etcd.bytes(prefix + "history/"),
                GetOption.builder().isPrefix(true).withSortField(GetOption.SortTarget.KEY)
                        .withSortOrder(GetOption.SortOrder.ASCEND).build())).getKvs()) {
            out.add(parse(Etcd.text(kv.getValue())));
        }
        return out;
    }

    /** Seconds left on a lease, or -1 when it is gone. */
    public long leaseSecondsLeft(long lease) {
        return etcd.await(etcd.client().getLeaseClient().timeToLive(lease, io.etcd.jetcd.options.LeaseOption.DEFAULT)).getTTL();
    }

    /** Fencing: revoking the leader's lease deletes its key at once; the next candidate wins. */
    public void revoke(long lease) {
        etcd.await(etcd.client().getLeaseClient().revoke(lease));
    }

    private static JsonNode parse(String text) {
        try {
            JsonNode node = Json.parse(text);
            return node == null ? Json.object() : node;
        } catch (IOException e) {
            return Json.object();
        }
    }
}
