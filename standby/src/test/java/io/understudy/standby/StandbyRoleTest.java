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
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, true, startedAt, failedAt), 5_100), "within the vacancy grace");
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, true, startedAt, failedAt), 5_250));
        // no leader seen since the failure: it may be an outage the primary is coming back from
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, false, startedAt, failedAt), 5_250));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, false, startedAt, failedAt), 10_600), "settled since both");
        // never failed, never saw a leader: a cluster boot settles first
        assertFalse(standby.mayTakeVacantKey(new Vacancy(5_000, false, startedAt, -1), 9_000));
        assertTrue(standby.mayTakeVacantKey(new Vacancy(5_000, false, startedAt, -1), 10_000));
        assertFalse(standby.mayTakeVacantKey(new Vacancy(-1, true, startedAt, -1), 60_000), "a held key is not vacant");
    }

    @Test
    void aLongerLeaseSettlesLonger() {
        StandbyRole slow = new StandbyRole(Duration.ofSeconds(30));
        assertFalse(slow.mayTakeVacantKey(new Vacancy(59_000, false, 0, -1), 59_500), "2 x 30 s have not passed since the start");
        assertTrue(slow.mayTakeVacantKey(new Vacancy(59_000, false, 0, -1), 60_000));
    }
}
