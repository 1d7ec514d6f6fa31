package io.understudy.standby;

import io.understudy.relay.LeadershipCycle;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayRole;

import java.time.Duration;

/**
 * The standby: it starts cold and campaigns only when promoted or when the leader key stays vacant
 * by its settle rule ({@link #mayTakeVacantKey}); after winning it opens its provider connections
 * before it claims; and once it stops leading (its lease lost, or a switchover back to the
 * primary) it goes cold again instead of queueing.
 */
public final class StandbyRole implements RelayRole {
    /** A vacant key is left this long first, so a primary back from an etcd outage reclaims it. */
    static final Duration VACANCY_GRACE = Duration.ofMillis(200);
    /**
     * A standby that has never seen a leader since it started, or that has just seen etcd change
     * leader (restart), waits at least this long before it takes a vacant key: a primary booting at the same
     * moment, or coming back from the same etcd outage, may take seconds more to campaign (cold
     * jetcd client, gRPC reconnect backoff). Without it a cluster boot or an etcd outage can hand
     * leadership to the standby by accident (chaos scenario 10, and scenario start-ups). A leader
     * that dies after the standby saw it lead is replaced after {@link #VACANCY_GRACE}.
     */
    static final Duration MIN_SETTLE_GRACE = Duration.ofSeconds(10);
    /**
     * How much longer than its TTL a lease restored by a new etcd leader can live unrenewed: etcd
     * extends every lease by its election timeout when it becomes leader (1 s by default), and
     * revokes expired ones on a 0.5 s tick. A key seen for less than TTL + max(TTL, this) since the
     * change proves no renewal.
     */
    static final Duration RESTORED_LEASE_EXTRA = Duration.ofMillis(1_500);

    private final long leaseTtlMillis;
    private final long settleGraceMillis;

    /** The settle grace is max(10 s, 2 x the lease TTL): longer leases reconnect more slowly. */
    public StandbyRole(Duration leaseTtl) {
        this.leaseTtlMillis = leaseTtl.toMillis();
        this.settleGraceMillis = Math.max(MIN_SETTLE_GRACE.toMillis(), 2 * leaseTtlMillis);
    }

    @Override
    public RelayConfig.Role role() {
        return RelayConfig.Role.STANDBY;
    }

    @Override
    public boolean startsCold() {
        return true;
    }

    @Override
    public boolean queuesAfterLeading() {
        return false;
    }

    @Override
    public boolean warmsUpBeforeClaiming() {
        return true;
    }

    /**
     * After {@link #VACANCY_GRACE}, at once when the leader it last saw was alive: seen at all, when
     * etcd has not changed leader since this relay started reading it; seen for longer than a
     * restored lease can live since the change otherwise (etcd restores every lease with a fresh TTL,
     * and more, when it changes leader: {@link #RESTORED_LEASE_EXTRA}; a shorter sighting may be a
     * stale key whose owner is still reconnecting). Otherwise only
     * once the settle grace has passed since it started and since etcd changed leader: a primary
     * booting, or coming back from the same etcd outage, may still be on its way.
     */
    @Override
    public boolean mayTakeVacantKey(LeadershipCycle.Vacancy v, long now) {
        if (v.vacantSince() < 0 || now - v.vacantSince() < VACANCY_GRACE.toMillis()) {
            return false;
        }
        boolean sawLiveLeader = v.leaderSeenForMillis() >= 0
                && (v.etcdLeaderChangedAt() < 0
                || v.leaderSeenForMillis() >= leaseTtlMillis + Math.max(leaseTtlMillis, RESTORED_LEASE_EXTRA.toMillis()));
        if (sawLiveLeader) {
            return true;
        }
        return now - v.startedAt() >= settleGraceMillis
                && (v.etcdLeaderChangedAt() < 0 || now - v.etcdLeaderChangedAt() >= settleGraceMillis);
    }
}
