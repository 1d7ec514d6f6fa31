package io.understudy.relay;

import io.understudy.core.etcd.Etcd;

import java.time.Clock;
import java.time.Duration;

/**
 * One etcd lease of a relay, renewed on its own thread every keep-alive period. It only reports
 * ({@link #view}); the leadership cycle decides what a failing lease means. A renewal counts from
 * the moment it was sent, not answered (etcd restarts the TTL somewhere in between), so the safe
 * time it reports never outlives the lease in etcd. A failed renewal is retried every 100 ms, each
 * attempt bounded by half a keep-alive period and by the safe time left: one call stuck on an
 * etcd member that just died, or waiting out a raft election, must not spend the whole budget
 * (chaos scenario 18).
 */
final class LeaseKeeper implements AutoCloseable {
    private static final Duration RETRY = Duration.ofMillis(100);

    private final Etcd etcd;
    private final Clock clock;
    private final long id;
    private final long ttlMillis;
    private final long marginMillis;
    private final Thread thread;
    private volatile long renewedAt;
    private volatile String gone;
    private volatile boolean running = true;

    private LeaseKeeper(Etcd etcd, Clock clock, long id, long ttlMillis, long grantedAt, String name) {
        this.etcd = etcd;
        this.clock = clock;
        this.id = id;
        this.ttlMillis = ttlMillis;
        this.marginMillis = etcd.settings().keepAliveEvery().toMillis();
        this.renewedAt = grantedAt;
        this.thread = Thread.ofPlatform().daemon(true).name("renew-" + name).start(this::renew);
    }

    /** Grants a lease of the configured TTL (whole seconds, 2 at least) and starts renewing it. */
    static LeaseKeeper grant(Etcd etcd, Clock clock, String name) {
        long ttlSeconds = Math.max(2, etcd.settings().leaseTtl().toSeconds());
        long sent = clock.millis();
        long id = etcd.await(etcd.client().getLeaseClient().grant(ttlSeconds)).getID();
        return new LeaseKeeper(etcd, clock, id, ttlSeconds * 1000, sent, name);
    }

    long id() {
        return id;
    }

    /** Gone, or alive until the safe time: last renewal sent + TTL - one keep-alive period. */
    LeadershipCycle.Lease view() {
        String why = gone;
        if (why != null) {
            return new LeadershipCycle.Lease.Gone(why);
        }
        return new LeadershipCycle.Lease.Alive(id, renewedAt + ttlMillis - marginMillis);
    }

    private void renew() {
        long attemptBound = Math.min(etcd.settings().opTimeout().toMillis(), marginMillis / 2);
        Duration wait = etcd.settings().keepAliveEvery();
        while (running) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long sent = clock.millis();
            long safeLeft = renewedAt + ttlMillis - marginMillis - sent;
            Duration attempt = Duration.ofMillis(Math.max(50, Math.min(attemptBound, safeLeft)));
            try {
                long ttl = etcd.await(etcd.client().getLeaseClient().keepAliveOnce(id), attempt).getTTL();
                if (ttl > 0) {
                    renewedAt = sent;
                    wait = etcd.settings().keepAliveEvery();
                    continue;
                }
                gone = "lease " + Long.toHexString(id) + " is gone (revoked or expired)";
                return;
            } catch (RuntimeException e) {
                if (String.valueOf(e.getMessage()).contains("lease not found")) {
                    gone = "lease " + Long.toHexString(id) + " is gone (revoked or expired)";
                    return;
                }
                wait = RETRY;
            }
        }
    }

    /** Stops renewing; {@code revoke}: also tell etcd, without waiting (the lease lapses anyway). */
    void close(boolean revoke) {
        running = false;
        thread.interrupt();
        if (revoke) {
            try {
                etcd.client().getLeaseClient().revoke(id);
            } catch (RuntimeException ignored) {
                // etcd unreachable: the lease lapses after its TTL
            }
        }
    }

    @Override
    public void close() {
        close(false);
    }
}
