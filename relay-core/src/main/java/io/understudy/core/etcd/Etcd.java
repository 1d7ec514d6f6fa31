package io.understudy.core.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.election.NoLeaderException;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A jetcd client built from {@link EtcdSettings}, and the one way we wait on it: with a deadline. */
public final class Etcd implements EtcdKv, AutoCloseable {
    private volatile long raftTerm = -1;
    private final EtcdSettings settings;
    private final Client client;

    public Etcd(EtcdSettings settings) {
        this.settings = settings;
        ClientBuilder builder = Client.builder()
                .endpoints(settings.endpoints().toArray(java.net.URI[]::new))
                .waitForReady(false) // jetcd waits forever by default; we want a prompt error
                .connectTimeout(settings.opTimeout());
        settings.user().ifPresent(u -> builder.user(bytes(u)));
        settings.password().ifPresent(p -> builder.password(bytes(p.value())));
        if (settings.caCert().isPresent()) { // https endpoints: trust this CA
            java.io.File ca = settings.caCert().get().toFile();
            try {
                builder.sslContext(b -> b.trustManager(ca));
            } catch (javax.net.ssl.SSLException e) {
                throw new io.understudy.core.config.ConfigError("etcd.ca-cert", "cannot use " + ca + ": " + e.getMessage());
            }
        }
        this.client = builder.build();
    }

    @Override
    public EtcdSettings settings() {
        return settings;
    }

    public Client client() {
        return client;
    }

    /** Waits for an etcd call at most the op timeout; any failure is an {@link EtcdUnavailable}. */
    /**
     * etcd's raft term in the last answer (-1: none yet). It changes only when etcd elects a leader,
     * as it does when it restarts; a new etcd leader restores every lease with a fresh TTL, so a
     * key seen after a change may belong to a lease no one renews any more.
     */
    public long raftTerm() {
        return raftTerm;
    }

    public <T> T await(CompletableFuture<T> call) {
        return await(call, settings.opTimeout());
    }

    /** As {@link #await(CompletableFuture)}, with a deadline of the caller's own (shorter, for retries that must fit a budget). */
    public <T> T await(CompletableFuture<T> call, Duration timeout) {
        try {
            T result = call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (result instanceof io.etcd.jetcd.Response r) {
                raftTerm = Math.max(raftTerm, r.getHeader().getRaftTerm());
            }
            return result;
        } catch (TimeoutException e) {
            // not cancelled: cancelling a jetcd future can leave its client unable to make that call again
            throw new EtcdUnavailable("etcd did not answer within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw new EtcdUnavailable("etcd call failed: " + rootMessage(e), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdUnavailable("interrupted while waiting for etcd", e);
        }
    }

    public static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    public static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    /** The election's name, as jetcd's campaign and observe calls take it. */
    public ByteSequence electionName() {
        return bytes(settings.electionName());
    }

    /** A jetcd key-value as the key layout reads it. */
    public static Entry entry(KeyValue kv) {
        return new Entry(text(kv.getKey()), text(kv.getValue()), kv.getCreateRevision(), kv.getLease());
    }

    @Override
    public Optional<Entry> get(String key) {
        List<KeyValue> kvs = await(client.getKVClient().get(bytes(key))).getKvs();
        return kvs.isEmpty() ? Optional.empty() : Optional.of(entry(kvs.get(0)));
    }

    @Override
    public List<Entry> prefix(String prefix) {
        return await(client.getKVClient().get(bytes(prefix), GetOption.builder().isPrefix(true)
                .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.ASCEND).build()))
                .getKvs().stream().map(Etcd::entry).toList();
    }

    @Override
    public long countPrefix(String prefix) {
        return await(client.getKVClient().get(bytes(prefix), GetOption.builder().isPrefix(true).withCountOnly(true).build()))
                .getCount();
    }

    @Override
    public void put(String key, String value, long lease) {
        await(client.getKVClient().put(bytes(key), bytes(value), PutOption.builder().withLeaseId(lease).build()));
    }

    @Override
    public void delete(String key) {
        await(client.getKVClient().delete(bytes(key)));
    }

    @Override
    public void deleteIfValue(String key, String value) {
        ByteSequence k = bytes(key);
        await(client.getKVClient().txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bytes(value))))
                .Then(Op.delete(k, DeleteOption.DEFAULT))
                .commit());
    }

    @Override
    public Optional<Entry> electionLeader(String name) {
        try {
            return Optional.of(entry(await(client.getElectionClient().leader(bytes(name))).getKv()));
        } catch (EtcdUnavailable e) {
            if (isNoLeader(e)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Whether a failed call said there is no leader (a vacant key, not an etcd failure). */
    public static boolean isNoLeader(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof NoLeaderException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public long leaseSecondsLeft(long lease) {
        return await(client.getLeaseClient().timeToLive(lease, LeaseOption.DEFAULT)).getTTL();
    }

    @Override
    public void revoke(long lease) {
        await(client.getLeaseClient().revoke(lease));
    }

    @Override
    public void close() {
        client.close();
    }
}
