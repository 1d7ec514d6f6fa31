package io.understudy.relay;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How a relay's reads of the leader key become the vacancy its settle rule decides from. */
class LeaderSightingsTest {
    private static final long TERM = 7;

    @Test
    void aKeySeenThenVacantKeepsHowLongItWasSeen() {
        LeaderSightings s = new LeaderSightings();
        assertEquals(new LeadershipCycle.Vacancy(-1, -1, 0, -1), s.vacancy(0), "nothing seen yet");
        s.read(1_000, true, TERM);
        s.read(4_000, true, TERM);
        s.read(4_100, false, TERM);
        assertEquals(new LeadershipCycle.Vacancy(4_100, 3_000, 0, -1), s.vacancy(0));
    }

    /** A failed read while etcd kept its leader (same raft term: a slow call, a cold client) changes nothing. */
    @Test
    void aFailedReadWhileEtcdKeptItsLeaderKeepsTheSighting() {
        LeaderSightings s = new LeaderSightings();
        s.read(1_000, true, TERM);
        s.failed(3_300);
        s.read(4_300, true, TERM);
        s.read(5_900, false, TERM);
        assertEquals(new LeadershipCycle.Vacancy(5_900, 3_300, 0, -1), s.vacancy(0));
    }

    /** ci76 (chaos scenario 10): across an etcd restart, a key seen again may be stale: the sighting starts over. */
    @Test
    void anEtcdLeaderChangeAcrossFailedReadsStartsTheSightingOver() {
        LeaderSightings s = new LeaderSightings();
        s.read(1_000, true, TERM);
        s.failed(3_000);
        s.failed(9_000);
        s.read(9_500, true, TERM + 1);
        s.read(11_300, true, TERM + 1);
        s.read(11_400, false, TERM + 1);
        assertEquals(new LeadershipCycle.Vacancy(11_400, 1_800, 0, 9_000), s.vacancy(0));
    }

    /** In a cluster of three, etcd can change leader without this relay's reads failing. */
    @Test
    void anEtcdLeaderChangeBetweenReadsStartsTheSightingOverToo() {
        LeaderSightings s = new LeaderSightings();
        s.read(1_000, true, TERM);
        s.read(1_100, true, TERM + 1);
        assertEquals(new LeadershipCycle.Vacancy(-1, 0, 0, 1_100), s.vacancy(0));
    }

    /** A cold client's first read timing out says nothing of etcd's leader: the term is learnt from the next answer. */
    @Test
    void aFirstReadThatFailedIsNoEtcdLeaderChange() {
        LeaderSightings s = new LeaderSightings();
        s.failed(500);
        s.read(1_600, true, TERM);
        assertEquals(new LeadershipCycle.Vacancy(-1, 0, 0, -1), s.vacancy(0));
    }

    @Test
    void nothingIsVacantWhileReadsFail() {
        LeaderSightings s = new LeaderSightings();
        s.read(1_000, false, TERM);
        s.failed(2_000);
        assertEquals(-1, s.vacancy(0).vacantSince());
    }
}
