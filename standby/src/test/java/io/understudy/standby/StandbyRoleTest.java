package io.understudy.standby;

import io.understudy.relay.LeadershipCycle.Vacancy;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a standby does differently: cold at start, a settle rule on vacancies, a warm-up, cold again after leading. */
class StandbyRoleTest {
    private static final long NOT_SEEN = -1;
    private static final long NO_CHANGE = -1;
    private final StandbyRole standby = new StandbyRole(Duration.ofSeconds(2));

    @Test
    void startsColdWarmsUpBeforeClaimingAndGoesColdAfterLeading() {
        assertTrue(standby.startsCold());
        assertTrue(standby.warmsUpBeforeClaiming());
        assertFalse(standby.queuesAfterLeading(), "after a switchover away from it, a standby goes cold, not queued");
    }

    /**
     * Regression (ci79, LeadershipTest.killedLeaderIsReplacedWithinTtlPlusOneSecond...): a standby
     * started a second before the leader was killed saw its key for less than a lease TTL, and waited
     * the 10 s settle grace. Without an etcd leader change, a leader seen at all was alive.
     */
    @Test
    void aLeaderSeenWhileEtcdKeptItsLeaderIsReplacedAfterTheVacancyGraceOnly() {
        long startedAt = 0;
        assertFalse(standby.mayTakeVacantKey(new Vacancy(2_000, 900, startedAt, NO_CHANGE), 2_100), "within the vacancy grace");
        assertTrue(standby.mayTakeVacantKey(new Vacancy(2_000, 900, startedAt, NO_CHANGE), 2_250));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(2_000, 0, startedAt, NO_CHANGE), 2_250), "seen in one read");
        assertFalse(standby.mayTakeVacantKey(new Vacancy(-1, 900, startedAt, NO_CHANGE), 60_000), "a held key is not vacant");
    }

    @Test
    void neverSeenALeaderAClusterBootSettlesFirst() {
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, NOT_SEEN, 0, NO_CHANGE), 9_000));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, NOT_SEEN, 0, NO_CHANGE), 10_000));
    }

    /**
     * Regression (ci76, chaos scenario 10: etcd down 6 s): when etcd came back it still held the
     * primary's key from before the outage, with a fresh TTL. The standby counted that stale key as a
     * leader seen and, when it expired a TTL later while the primary was still reconnecting, took the
     * key after 200 ms. After an etcd leader change, a key seen for less than a lease TTL proves no
     * renewal, so the settle grace applies.
     */
    @Test
    void aKeyLeftFromBeforeAnEtcdRestartIsNoLeaderSeen() {
        long etcdChangedAt = 15_900;
        long expiredAt = 17_900; // the stale key, seen for 1.9 s of its 2 s TTL
        Vacancy staleKeyExpired = new Vacancy(expiredAt, 1_900, 0, etcdChangedAt);
        assertFalse(standby.mayTakeVacantKey(staleKeyExpired, expiredAt + 250), "the primary may still be reconnecting");
        assertFalse(standby.mayTakeVacantKey(staleKeyExpired, etcdChangedAt + 9_999));
        assertTrue(standby.mayTakeVacantKey(staleKeyExpired, etcdChangedAt + 10_000), "settled since the restart");
        // a key renewed after the restart (seen for longer than a restored lease lives) belonged to a live leader, now dead
        Vacancy renewedKeyExpired = new Vacancy(21_000, 4_000, 0, etcdChangedAt);
        assertTrue(standby.mayTakeVacantKey(renewedKeyExpired, 21_250));
    }

    /**
     * Regression (ci112, chaos scenario 10: etcd SIGKILLed for 6 s): the restarted etcd restored the
     * primary's lease with a fresh 2 s TTL plus its 1 s election timeout; the standby saw that key for
     * 2.1 s, took it for a renewal, and took the key 211 ms after it expired, 10 ms before the
     * primary, still reconnecting, campaigned.
     */
    @Test
    void aRestoredKeySeenALittleLongerThanItsTtlIsNoRenewal() {
        long etcdChangedAt = 8_000;
        Vacancy restoredKeyExpired = new Vacancy(10_340, 2_100, 0, etcdChangedAt);
        assertFalse(standby.mayTakeVacantKey(restoredKeyExpired, 10_551), "the primary may still be reconnecting");
        assertFalse(standby.mayTakeVacantKey(new Vacancy(10_340, 3_900, 0, etcdChangedAt), 10_551),
                "not even when seen for TTL + 1.9 s: with a 2 s TTL, renewal is proven only past 4 s");
        assertTrue(standby.mayTakeVacantKey(restoredKeyExpired, etcdChangedAt + 10_000), "settled since the restart");
    }

    @Test
    void aLongerLeaseSettlesLonger() {
        StandbyRole slow = new StandbyRole(Duration.ofSeconds(30));
        assertFalse(slow.mayTakeVacantKey(new Vacancy(59_000, NOT_SEEN, 0, NO_CHANGE), 59_500), "2 x 30 s have not passed since the start");
        assertTrue(slow.mayTakeVacantKey(new Vacancy(59_000, NOT_SEEN, 0, NO_CHANGE), 60_000));
    }
}
