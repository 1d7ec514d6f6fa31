package io.understudy.relay;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When a relay that won the election may call itself leader. */
class CampaignerClaimTest {
    private final AtomicLong now = new AtomicLong(1_000);

    /**
     * Regression: a lease lost during the promotion warm-up (up to 2 s) left the relay answering as
     * leader with a stale epoch, because the renewer steps down only a relay that already leads.
     */
    @Test
    void aLeaseLostDuringWarmUpNeverClaimsLeadership() {
        Leadership leadership = new Leadership(true, now::get);
        leadership.campaigning("promoted by test");
        AtomicReference<String> lost = new AtomicReference<>();
        Campaigner.reportLost(leadership, "lease 1f is gone (revoked or expired)", lost); // during the warm-up
        assertEquals(Leadership.State.CANDIDATE, leadership.view().state(), "not leader yet: nothing to step down");

        assertFalse(Campaigner.claim(leadership, 42, lost));
        Leadership.View v = leadership.view();
        assertEquals(Leadership.State.STEPPED_DOWN, v.state());
        assertFalse(v.leader());
        assertEquals(0, v.epoch(), "no stale epoch is ever shown");
        assertEquals("won epoch 42 but did not claim it: lease 1f is gone (revoked or expired)", v.reason());
    }

    @Test
    void aLiveLeaseClaimsAndALaterLossStepsDownAtOnce() {
        Leadership leadership = new Leadership(false, now::get);
        AtomicReference<String> lost = new AtomicReference<>();
        assertTrue(Campaigner.claim(leadership, 7, lost));
        assertEquals(new Leadership.View(Leadership.State.LEADER, 7, "won the election", 1_000), leadership.view());

        Campaigner.reportLost(leadership, "lease not renewed for 3400 ms", lost);
        assertEquals(Leadership.State.STEPPED_DOWN, leadership.view().state());
        assertFalse(Campaigner.claim(leadership, 8, lost), "the same lost lease never claims again");
    }

    /**
     * Regression: a standby whose first etcd call timed out at boot (cold client, busy host) then
     * saw the primary lead, yet waited the 10 s settle grace after that early failure before taking
     * the key the killed primary left: about 9 s without a leader instead of the lease TTL.
     */
    @Test
    void aLeaderSeenAfterAFailedEtcdCallIsReplacedAfterTheVacancyGraceOnly() {
        long settle = 10_000;
        long startedAt = 0;
        long failedAt = 500;
        // the standby saw the leader after its failed call; the key fell vacant at 5 s
        assertFalse(Campaigner.mayTakeVacantKey(5_100, 5_000, true, startedAt, failedAt, settle), "within the vacancy grace");
        assertTrue(Campaigner.mayTakeVacantKey(5_250, 5_000, true, startedAt, failedAt, settle));
        // no leader seen since the failure: it may be an outage the primary is coming back from
        assertFalse(Campaigner.mayTakeVacantKey(5_250, 5_000, false, startedAt, failedAt, settle));
        assertTrue(Campaigner.mayTakeVacantKey(10_600, 5_000, false, startedAt, failedAt, settle), "settled since both");
        // never failed, never saw a leader: a cluster boot settles first
        assertFalse(Campaigner.mayTakeVacantKey(9_000, 5_000, false, startedAt, -1, settle));
        assertTrue(Campaigner.mayTakeVacantKey(10_000, 5_000, false, startedAt, -1, settle));
    }
}
