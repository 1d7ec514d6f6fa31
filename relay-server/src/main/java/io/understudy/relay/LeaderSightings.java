package io.understudy.relay;

/**
 * What a relay has seen of the leader key across its etcd reads, as the {@link LeadershipCycle.Vacancy}
 * its role's settle rule decides from. Pure: the leadership loop feeds it each read's outcome.
 *
 * <p>What can make a leader key lie is an etcd leader change (its raft term changes), as when etcd
 * restarts: the new etcd leader restores every lease with a fresh TTL, so a key seen afterwards may
 * belong to a relay that is still reconnecting, or dead. Only a key seen since the change for longer
 * than a restored lease can live proves a renewal (chaos scenario 10; the standby's rule says how
 * long). A read that failed while etcd kept its leader (a
 * slow call on a busy host, a cold client) changes nothing: the leases ran down as they would have,
 * and a leader key that then expires was not renewed.
 */
final class LeaderSightings {
    private long leaderSeenSince = -1;
    private long leaderSeenForMillis = -1;
    private long vacantSince = -1;
    private long etcdLeaderChangedAt = -1;
    private long term = -1;
    private long failedAt = -1;

    /** A read that answered: whether a leader key is there, and etcd's raft term in the answer (-1: unknown). */
    void read(long now, boolean leaderKeyPresent, long raftTerm) {
        if (term >= 0 && raftTerm >= 0 && raftTerm != term) {
            // etcd changed leader (across the failed reads, if any): what was seen before proves nothing now
            etcdLeaderChangedAt = failedAt >= 0 ? failedAt : now;
            leaderSeenSince = -1;
            leaderSeenForMillis = -1;
        }
        failedAt = -1;
        if (raftTerm >= 0) {
            term = raftTerm;
        }
        if (leaderKeyPresent) {
            vacantSince = -1;
            leaderSeenSince = leaderSeenSince < 0 ? now : leaderSeenSince;
            leaderSeenForMillis = now - leaderSeenSince;
        } else {
            leaderSeenSince = -1; // the sighting ends; leaderSeenForMillis keeps how long it lasted
            vacantSince = vacantSince < 0 ? now : vacantSince;
        }
    }

    /** A read that failed: nothing is decided from what was seen before until etcd answers again. */
    void failed(long now) {
        failedAt = now;
        vacantSince = -1;
    }

    LeadershipCycle.Vacancy vacancy(long startedAt) {
        return new LeadershipCycle.Vacancy(vacantSince, leaderSeenForMillis, startedAt, etcdLeaderChangedAt);
    }
}
