package io.understudy.core.etcd;

import java.util.List;
import java.util.Optional;

/**
 * The etcd calls the cluster's key layout ({@link ClusterState}) needs, whatever carries them:
 * jetcd's gRPC client ({@link Etcd}) in relays and agents, which also campaign, renew and watch;
 * etcd's JSON gateway ({@link EtcdGateway}) in the operator CLI, which must answer in a fraction of
 * a second and cannot spend one loading gRPC. Every call is bounded by the op timeout and throws
 * {@link EtcdUnavailable} when etcd cannot answer.
 */
public interface EtcdKv {
    /** One key-value: its create revision (an election key's is the epoch) and its lease (0: none). */
    record Entry(String key, String value, long createRevision, long lease) {
    }

    EtcdSettings settings();

    Optional<Entry> get(String key);

    /** Every key under {@code prefix}, in key order. */
    List<Entry> prefix(String prefix);

    long countPrefix(String prefix);

    /** {@code lease} 0: a key that lives until deleted. */
    void put(String key, String value, long lease);

    void delete(String key);

    /** Deletes {@code key} only while it still holds {@code value} (a transaction). */
    void deleteIfValue(String key, String value);

    /** The key leading the election {@code name}, or empty when none does. */
    Optional<Entry> electionLeader(String name);

    /** Seconds left on a lease, or -1 when it is gone. */
    long leaseSecondsLeft(long lease);

    void revoke(long lease);

    /** The key just past every key that starts with {@code prefix} (etcd's range end for a prefix). */
    static byte[] prefixEnd(byte[] prefix) {
        byte[] end = prefix.clone();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return java.util.Arrays.copyOf(end, i + 1);
            }
        }
        return new byte[] {0}; // every byte 0xff: to the end of the keyspace
    }
}
