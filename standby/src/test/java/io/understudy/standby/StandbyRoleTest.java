package io.understudy.standby;

import io.understudy.relay.LeadershipCycle.Vacancy;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a standby does differently: cold at start, a settle rule on vacancies, a warm-up, cold again after leading. */
class StandbyRoleTest {
    private final StandbyRole standby = new StandbyRole(Duration.ofSeconds(2));

    @Test
    void startsColdWarmsUpBeforeClaimingAndGoesColdAfterLeading() {
        assertTrue(standby.startsCold());
        assertTrue(standby.warmsUpBeforeClaiming());
        assertFalse(standby.queuesAfterLeading(), "after a switchover away from it, a standby goes cold, not queued");
    }

    /**
     * Regression: a standby whose first etcd call timed out at boot (cold client, busy host) then
     * saw the primary lead, yet waited the 10 s settle grace after that early failure before taking
     * the key the killed primary left: about 9 s without a leader instead of the lease TTL.
     */
    @Test
    void aLeaderSeenAfterAFailedEtcdCallIsReplacedAfterTheVacancyGraceOnly() {
        long startedAt = 0;
        long failedAt = 500;
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, 2_000, startedAt, failedAt), 5_100), "within the vacancy grace");
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, 2_000, startedAt, failedAt), 5_250));
        // no leader seen since the failure: it may be an outage the primary is coming back from
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, 0, startedAt, failedAt), 5_250));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, 0, startedAt, failedAt), 10_600), "settled since both");
        // never failed, never saw a leader: a cluster boot settles first
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, 0, startedAt, -1), 9_000));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, 0, startedAt, -1), 10_000));
        assertFalse(standby.mayTakeVacantKey(new Vacancy(-1, 2_000, startedAt, -1), 60_000), "a held key is not vacant");
    }

    /**
     * Regression (ci76, chaos scenario 10: etcd down 6 s): when etcd came back it still held the
     * primary's key from before the outage, with a fresh TTL. The standby counted that stale key
     * as a leader seen since the failure and, when it expired a TTL later while the primary was
     * still reconnecting, took the key after 200 ms. A key seen for less than a lease TTL proves
     * no renewal after the outage, so the settle grace applies.
     */
    @Test
    void aKeyLeftFromBeforeAnEtcdOutageIsNoLeaderSeenSinceIt() {
        long etcdBackAt = 16_000;
        long lastFailure = etcdBackAt - 100;
        long expiredAt = etcdBackAt + 1_900; // the stale key, seen for 1.9 s of its 2 s TTL
        Vacancy staleKeyExpired = new Vacancy(expiredAt, 1_900, 0, lastFailure);
        assertFalse(standby.mayTakeVacantKey(staleKeyExpired, expiredAt + 250), "the primary may still be reconnecting");
        assertFalse(standby.mayTakeVacantKey(staleKeyExpired, lastFailure + 9_999));
        assertTrue(standby.mayTakeVacantKey(staleKeyExpired, lastFailure + 10_000), "settled since the outage");
        // a key renewed after the outage (seen for a whole TTL) belonged to a live leader, now dead
        Vacancy renewedKeyExpired = new Vacancy(etcdBackAt + 5_000, 2_000, 0, lastFailure);
        assertTrue(standby.mayTakeVacantKey(renewedKeyExpired, etcdBackAt + 5_250));
    }

    @Test
    void aLongerLeaseSettlesLonger() {
        StandbyRole slow = new StandbyRole(Duration.ofSeconds(30));
        assertFalse(slow.mayTakeVacantKey(new Vacancy(59_000, 0, 0, -1), 59_500), "2 x 30 s have not passed since the start");
        assertTrue(slow.mayTakeVacantKey(new Vacancy(59_000, 0, 0, -1), 60_000));
    }
}
