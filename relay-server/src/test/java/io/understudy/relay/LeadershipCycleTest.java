package io.understudy.relay;

import io.understudy.core.etcd.ClusterState;
import io.understudy.relay.LeadershipCycle.Action;
import io.understudy.relay.LeadershipCycle.Campaign;
import io.understudy.relay.LeadershipCycle.Decision;
import io.understudy.relay.LeadershipCycle.EtcdView;
import io.understudy.relay.LeadershipCycle.Facts;
import io.understudy.relay.LeadershipCycle.Handover;
import io.understudy.relay.LeadershipCycle.Lease;
import io.understudy.relay.LeadershipCycle.Vacancy;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every rung of the leadership ladder, on snapshots with a fake clock: no etcd. */
class LeadershipCycleTest {
    private static final long NOW = 100_000;
    private static final ClusterState.Leader PRIMARY_7 = new ClusterState.Leader("primary-1", "primary", "http://p/v1", 7, 0x1f);
    private static final ClusterState.Leader STANDBY_9 = new ClusterState.Leader("standby-1", "standby", "http://s/v1", 9, 0x2f);
    private static final Lease ALIVE = new Lease.Alive(0x1f, NOW + 3_000);

    private static Facts facts(boolean standby, Leadership.State state, long epoch, EtcdView etcd, Lease lease, Campaign campaign) {
        return new Facts(NOW, role(standby), new Leadership.View(state, epoch, "", 0), etcd, lease, campaign,
                Vacancy.none(0), Handover.NONE);
    }

    private static RelayRole role(boolean standby) {
        return standby ? TestRole.STANDBY_LIKE : TestRole.PRIMARY_LIKE;
    }

    private static EtcdView held(ClusterState.Leader leader) {
        return new EtcdView.Reachable(Optional.of(leader), Optional.empty());
    }

    private static EtcdView vacant() {
        return new EtcdView.Reachable(Optional.empty(), Optional.empty());
    }

    private static ClusterState.Command command(String to, boolean force) {
        return new ClusterState.Command("c1", "switchover", to, "maintenance", "ops", force, NOW - 1_000);
    }

    // ---- rungs 1-4: leading

    @Test
    void rung1aLeaderWhoseLeaseIsGoneStepsDown() {
        Decision d = LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, held(PRIMARY_7),
                new Lease.Gone("lease 1f is gone (revoked or expired)"), new Campaign.Won(7, true)));
        assertInstanceOf(Action.StepDown.class, d.action());
        assertEquals("the lease of epoch 7 is gone (lease 1f is gone (revoked or expired))", d.why());
    }

    @Test
    void rung1aLeaderPastItsLeasesSafeTimeStepsDownEvenWithEtcdUnreachable() {
        Decision d = LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, new EtcdView.Unreachable("timeout"),
                new Lease.Alive(0x1f, NOW), new Campaign.Won(7, true)));
        assertInstanceOf(Action.StepDown.class, d.action());
        assertTrue(d.why().contains("not renewed in time"), d.why());
    }

    @Test
    void rung2aLeaderWhoseKeyIsHeldAtAnotherEpochOrVacantStepsDown() {
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, held(STANDBY_9),
                ALIVE, new Campaign.Won(7, true))).action());
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, vacant(),
                ALIVE, new Campaign.Won(7, true))).action());
    }

    @Test
    void rung3aSwitchoverWaitsForTheTargetToQueueThenHandsOver() {
        EtcdView asked = new EtcdView.Reachable(Optional.of(PRIMARY_7), Optional.of(command("standby", false)));
        Facts waiting = new Facts(NOW, role(false), new Leadership.View(Leadership.State.LEADER, 7, "", 0), asked, ALIVE,
                new Campaign.Won(7, true), Vacancy.none(0), new Handover(1, NOW - 1_000, ""));
        Decision d = LeadershipCycle.decide(waiting);
        assertEquals(new Action.AwaitHandover(command("standby", false), NOW + 3_000), d.action());

        Facts queued = new Facts(NOW, role(false), waiting.view(), asked, ALIVE, new Campaign.Won(7, true), Vacancy.none(0),
                new Handover(2, NOW - 1_000, ""));
        assertEquals(new Action.HandOver(command("standby", false)), LeadershipCycle.decide(queued).action());

        Facts tooLong = new Facts(NOW, role(false), waiting.view(), asked, ALIVE, new Campaign.Won(7, true), Vacancy.none(0),
                new Handover(1, NOW - LeadershipCycle.HANDOVER_WAIT.toMillis(), ""));
        assertInstanceOf(Action.AbandonHandover.class, LeadershipCycle.decide(tooLong).action());

        Facts abandoned = new Facts(NOW, role(false), waiting.view(), asked, ALIVE, new Campaign.Won(7, true), Vacancy.none(0),
                new Handover(1, -1, "c1"));
        assertEquals(new Action.Lead(NOW + 3_000), LeadershipCycle.decide(abandoned).action(), "an abandoned command is ignored");
    }

    @Test
    void rung3aForcedCommandOrOneForThisRoleIsNoHandover() {
        for (ClusterState.Command c : new ClusterState.Command[] {command("standby", true), command("primary", false)}) {
            EtcdView asked = new EtcdView.Reachable(Optional.of(PRIMARY_7), Optional.of(c));
            assertEquals(new Action.Lead(NOW + 3_000), LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, asked,
                    ALIVE, new Campaign.Won(7, true))).action());
        }
    }

    @Test
    void rung4aLeaderOnALiveLeaseKeepsLeadingUntilItsSafeTimeEvenWithEtcdUnreachable() {
        assertEquals(new Action.Lead(NOW + 3_000), LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7,
                held(PRIMARY_7), ALIVE, new Campaign.Won(7, true))).action());
        Decision d = LeadershipCycle.decide(facts(false, Leadership.State.LEADER, 7, new EtcdView.Unreachable("timeout"),
                ALIVE, new Campaign.Won(7, true)));
        assertEquals(new Action.Lead(NOW + 3_000), d.action());
        assertTrue(d.why().contains("etcd unreachable"), d.why());
    }

    // ---- rungs 5-7: campaigning

    /**
     * Regression: a lease lost during the promotion warm-up (up to 2 s) left the relay answering as
     * leader with a stale epoch: it claimed without checking its lease.
     */
    @Test
    void rung5aLeaseLostDuringWarmUpNeverClaimsLeadership() {
        Decision d = LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0, held(STANDBY_9),
                new Lease.Gone("lease 2f is gone (revoked or expired)"), new Campaign.Won(9, true)));
        assertInstanceOf(Action.StepDown.class, d.action());
        assertEquals("won epoch 9 but did not claim it: the lease is lease 2f is gone (revoked or expired)", d.why());
        Decision late = LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0, held(STANDBY_9),
                new Lease.Alive(0x2f, NOW - 1), new Campaign.Won(9, true)));
        assertInstanceOf(Action.StepDown.class, late.action(), "a lease past its safe time is no better");
    }

    /** The same bug by another road: the lease was revoked during the warm-up, and the renewals have not said so yet. */
    @Test
    void rung5aKeyGoneOrSupersededDuringWarmUpNeverClaimsLeadership() {
        Decision d = LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0, held(PRIMARY_7), ALIVE,
                new Campaign.Won(9, true)));
        assertInstanceOf(Action.StepDown.class, d.action());
        assertEquals("won epoch 9 but did not claim it: etcd shows primary-1 leading epoch 7", d.why());
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0, vacant(),
                ALIVE, new Campaign.Won(9, true))).action());
        assertEquals(new Action.Wait(), LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0,
                new EtcdView.Unreachable("timeout"), ALIVE, new Campaign.Won(9, true))).action(), "no claim unconfirmed");
    }

    @Test
    void rung5aRoleThatDoesNotWarmUpClaimsAtOnce() {
        assertEquals(new Action.Claim(7, NOW + 3_000), LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0,
                held(PRIMARY_7), ALIVE, new Campaign.Won(7, false))).action());
    }

    @Test
    void rung5aWinnerWarmsUpOnceThenClaimsUntilItsLeasesSafeTime() {
        assertEquals(new Action.WarmUp(9), LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0, held(STANDBY_9),
                ALIVE, new Campaign.Won(9, false))).action());
        assertEquals(new Action.Claim(9, NOW + 3_000), LeadershipCycle.decide(facts(true, Leadership.State.CANDIDATE, 0,
                held(STANDBY_9), ALIVE, new Campaign.Won(9, true))).action());
    }

    @Test
    void rung6aCandidateStepsDownWhenEtcdIsUnreachableTheLeaseIsLostOrTheCampaignFailed() {
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0,
                new EtcdView.Unreachable("timeout"), ALIVE, new Campaign.Queued())).action());
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0,
                held(STANDBY_9), new Lease.Gone("gone"), new Campaign.Queued())).action());
        assertInstanceOf(Action.StepDown.class, LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0,
                held(STANDBY_9), ALIVE, new Campaign.Failed("cancelled"))).action());
    }

    @Test
    void rung7aCandidateWaitsInTheQueueOrStartsACampaign() {
        Decision queued = LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0, held(STANDBY_9), ALIVE,
                new Campaign.Queued()));
        assertEquals(new Action.Wait(), queued.action());
        assertEquals("queued in the election behind standby-1", queued.why());
        assertEquals(new Action.Campaign(), LeadershipCycle.decide(facts(false, Leadership.State.CANDIDATE, 0, vacant(),
                new Lease.None(), new Campaign.Idle())).action());
    }

    // ---- rungs 8-10: not campaigning

    @Test
    void rung8NothingIsDecidedFromStaleDataWhenEtcdIsUnreachable() {
        for (Leadership.State s : new Leadership.State[] {Leadership.State.COLD, Leadership.State.STEPPED_DOWN}) {
            assertEquals(new Action.Wait(), LeadershipCycle.decide(facts(true, s, 0, new EtcdView.Unreachable("timeout"),
                    new Lease.None(), new Campaign.Idle())).action());
        }
    }

    @Test
    void rung9aSteppedDownPrimaryCampaignsAgainAndAStandbyGoesCold() {
        assertEquals(new Action.Campaign(), LeadershipCycle.decide(facts(false, Leadership.State.STEPPED_DOWN, 0, vacant(),
                new Lease.None(), new Campaign.Idle())).action());
        assertEquals(new Action.GoCold(), LeadershipCycle.decide(facts(true, Leadership.State.STEPPED_DOWN, 0, vacant(),
                new Lease.None(), new Campaign.Idle())).action());
    }

    @Test
    void rung10aColdStandbyCampaignsWhenPromotedOrWhenTheKeyStaysVacant() {
        EtcdView promoted = new EtcdView.Reachable(Optional.of(PRIMARY_7), Optional.of(command("standby", false)));
        Decision d = LeadershipCycle.decide(facts(true, Leadership.State.COLD, 0, promoted, new Lease.None(), new Campaign.Idle()));
        assertEquals(new Action.Campaign(), d.action());
        assertEquals("promoted by ops: maintenance", d.why());

        assertEquals(new Action.Wait(), LeadershipCycle.decide(facts(true, Leadership.State.COLD, 0, held(PRIMARY_7),
                new Lease.None(), new Campaign.Idle())).action());

        Facts vacantLongEnough = new Facts(NOW, role(true), new Leadership.View(Leadership.State.COLD, 0, "", 0), vacant(),
                new Lease.None(), new Campaign.Idle(), new Vacancy(NOW - 300, 5_000, 0, -1), Handover.NONE);
        assertEquals(new Action.Campaign(), LeadershipCycle.decide(vacantLongEnough).action());
        Facts justVacant = new Facts(NOW, role(true), vacantLongEnough.view(), vacant(), new Lease.None(), new Campaign.Idle(),
                new Vacancy(NOW - 100, 5_000, 0, -1), Handover.NONE);
        assertEquals(new Action.Wait(), LeadershipCycle.decide(justVacant).action());
    }

    // ---- the state machine the cycle drives

    @Test
    void aClaimLapsesOnItsOwnAtTheLeasesSafeTimeUnlessTheCycleExtendsIt() {
        long[] now = {1_000};
        Leadership leadership = new Leadership(false, () -> now[0]);
        leadership.won(7, 4_000, "won the election (epoch 7)");
        assertTrue(leadership.claimsLeadership());
        now[0] = 4_000;
        assertFalse(leadership.claimsLeadership(), "a stuck cycle never leaves a stale leader");
        leadership.extendClaim(7_000);
        assertTrue(leadership.claimsLeadership());
        leadership.steppedDown("lease gone");
        leadership.extendClaim(9_000);
        assertFalse(leadership.claimsLeadership(), "a stepped-down relay's claim is never extended");
    }

    @Test
    void onlyTheTransitionsInTheTableAreAllowed() {
        Leadership cold = new Leadership(true, () -> 0);
        assertThrows(IllegalStateException.class, () -> cold.won(3, 1_000, "no campaign"));
        cold.campaigning("promoted");
        cold.won(3, 1_000, "won");
        assertThrows(IllegalStateException.class, () -> cold.cold("a leader never goes cold without draining"));
        for (Leadership.State from : Leadership.State.values()) {
            assertTrue(Leadership.ALLOWED.containsKey(from), "every state has its row: " + from);
        }
    }
}
