package io.understudy.relay;

import io.understudy.core.etcd.ClusterState;

import java.time.Duration;
import java.util.Optional;

/**
 * One cycle of a relay's leadership loop, as in Patroni's {@code ha.py}: pure code over a snapshot
 * of what etcd, this relay's lease and its campaign say, returning the one thing to do next and a
 * sentence saying why. {@link Campaigner} gathers the snapshot, carries the decision out, and is the
 * only writer of {@link Leadership}; renewals only report into the snapshot.
 * <p>
 * The ladder, in the order it is checked (the first rung that applies decides):
 * <ol>
 *   <li>Leading on a lease that is gone, or past the time it was sure to be alive: step down.</li>
 *   <li>Leading, while etcd shows the leader key vacant or held at another epoch: step down.</li>
 *   <li>Leading, with a switchover to the other role pending: hand over once the target is queued,
 *       abandon it after {@link #HANDOVER_WAIT}, keep leading meanwhile.</li>
 *   <li>Leading: keep leading (the claim is extended to the lease's safe time).</li>
 *   <li>Won the election: claim the epoch only on a lease still alive, once etcd (read this very
 *       cycle, after any warm-up) shows this relay's key leading at that epoch; warm up first when
 *       the role does (a standby's pools). A lease gone, or a key gone or superseded: step down,
 *       never claim.</li>
 *   <li>Campaigning with etcd unreachable, the lease gone or the campaign failed: step down.</li>
 *   <li>Campaigning: wait in the queue, or start a campaign on a new lease.</li>
 *   <li>Cold or stepped down with etcd unreachable: nothing is decided from stale data.</li>
 *   <li>Stepped down: a role that queues after leading (primary) campaigns again; the other
 *       (standby) goes cold.</li>
 *   <li>Cold: promoted, or the leader key vacant as long as the role asks
 *       ({@link RelayRole#mayTakeVacantKey}): campaign; else wait.</li>
 * </ol>
 */
public final class LeadershipCycle {
    /** A leader asked to hand over waits this long for the target to queue, then keeps leading. */
    static final Duration HANDOVER_WAIT = Duration.ofSeconds(10);

    private LeadershipCycle() {
    }

    /** What etcd said this cycle. */
    sealed interface EtcdView {
        record Reachable(Optional<ClusterState.Leader> leaderKey, Optional<ClusterState.Command> command) implements EtcdView {
        }

        record Unreachable(String error) implements EtcdView {
        }
    }

    /** This relay's lease, as its renewals report it. */
    sealed interface Lease {
        record None() implements Lease {
        }

        /** Renewed; sure to be alive in etcd until {@code safeUntil} (last renewal sent + TTL - one renewal period). */
        record Alive(long id, long safeUntil) implements Lease {
        }

        record Gone(String why) implements Lease {
        }
    }

    /** This relay's campaign in the election. */
    sealed interface Campaign {
        record Idle() implements Campaign {
        }

        /** Queued behind the leader (or about to win). */
        record Queued() implements Campaign {
        }

        /** Won {@code epoch} (the leader key's revision); {@code warm}: the warm-up for it ran. */
        record Won(long epoch, boolean warm) implements Campaign {
        }

        record Failed(String why) implements Campaign {
        }
    }

    /**
     * What a cold relay saw of the leader key ({@link LeaderSightings}): vacant since (-1: held); for
     * how long the last leader's key was seen without a break since etcd last changed leader (-1: not
     * seen); when it started; and when it saw etcd change leader (-1: never). Its role decides from
     * these whether it may take the key ({@link RelayRole#mayTakeVacantKey}).
     */
    public record Vacancy(long vacantSince, long leaderSeenForMillis, long startedAt, long etcdLeaderChangedAt) {
        static Vacancy none(long now) {
            return new Vacancy(-1, -1, now, -1);
        }
    }

    /** A leader's pending switchover: relays queued in the election (itself included), waiting since (-1: not yet). */
    record Handover(int candidates, long waitingSince, String abandonedCommandId) {
        static final Handover NONE = new Handover(0, -1, "");
    }

    /** Everything one cycle decides from. */
    record Facts(long now, RelayRole role, Leadership.View view, EtcdView etcd, Lease lease, Campaign campaign,
                 Vacancy vacancy, Handover handover) {
        String roleName() {
            return role.role().wireName();
        }
    }

    /** The one thing to do next. */
    sealed interface Action {
        /** Nothing changes. */
        record Wait() implements Action {
        }

        /** Grant a new lease and campaign on it. */
        record Campaign() implements Action {
        }

        /** Run the warm-up for {@code epoch} before claiming it. */
        record WarmUp(long epoch) implements Action {
        }

        /** Become leader of {@code epoch}, claiming it until {@code until}. */
        record Claim(long epoch, long until) implements Action {
        }

        /** Keep leading; the claim now holds until {@code until}. */
        record Lead(long until) implements Action {
        }

        /** Stop leading or campaigning: cancel the campaign, give the lease up. */
        record StepDown() implements Action {
        }

        /** A standby gives up its lease and campaign and waits for a vacancy or a promotion. */
        record GoCold() implements Action {
        }

        /** Keep leading while the switchover's target queues; the claim holds until {@code until}. */
        record AwaitHandover(ClusterState.Command command, long until) implements Action {
        }

        /** The target never queued: keep leading and ignore this command from now on. */
        record AbandonHandover(ClusterState.Command command, long until) implements Action {
        }

        /** Drain, resign and give the lease up; then queue behind the new leader (primary) or go cold (standby). */
        record HandOver(ClusterState.Command command) implements Action {
        }
    }

    record Decision(Action action, String why) {
    }

    static Decision decide(Facts f) {
        Leadership.View v = f.view();
        if (v.leader()) {
            return lead(f);
        }
        return switch (v.state()) {
            case CANDIDATE -> campaign(f);
            case STEPPED_DOWN, COLD -> switch (f.etcd()) {
                case EtcdView.Unreachable u -> new Decision(new Action.Wait(),
                        "etcd unreachable (" + u.error() + "): nothing is decided from stale data");
                case EtcdView.Reachable r -> v.state() == Leadership.State.STEPPED_DOWN ? afterSteppingDown(f)
                        : cold(f, r);
            };
            case LEADER, DRAINING -> throw new IllegalStateException("handled above");
        };
    }

    /** Rungs 1-4. */
    private static Decision lead(Facts f) {
        long epoch = f.view().epoch();
        switch (f.lease()) {
            case Lease.Gone g -> {
                return new Decision(new Action.StepDown(), "the lease of epoch " + epoch + " is gone (" + g.why() + ")");
            }
            case Lease.None n -> {
                return new Decision(new Action.StepDown(), "leading epoch " + epoch + " without a lease");
            }
            case Lease.Alive a when f.now() >= a.safeUntil() -> {
                return new Decision(new Action.StepDown(), "the lease of epoch " + epoch + " was not renewed in time: "
                        + "it may lapse in etcd now, so this relay stops claiming before it can");
            }
            case Lease.Alive a -> {
                // alive and safe: go on below
            }
        }
        long until = ((Lease.Alive) f.lease()).safeUntil();
        if (f.etcd() instanceof EtcdView.Reachable r) {
            Optional<ClusterState.Leader> key = r.leaderKey();
            if (key.isEmpty()) {
                return new Decision(new Action.StepDown(), "etcd shows the leader key vacant while this relay leads epoch " + epoch);
            }
            if (key.get().epoch() != epoch) {
                return new Decision(new Action.StepDown(), "etcd shows " + key.get().instance() + " leading epoch "
                        + key.get().epoch() + ", not this relay's epoch " + epoch);
            }
            Optional<ClusterState.Command> away = r.command()
                    .filter(c -> !c.to().equals(f.roleName()) && !c.force() && !c.id().equals(f.handover().abandonedCommandId()));
            if (away.isPresent() && f.view().state() == Leadership.State.LEADER) {
                ClusterState.Command c = away.get();
                if (f.handover().candidates() >= 2) {
                    return new Decision(new Action.HandOver(c), c.action() + " to " + c.to() + " requested by " + c.who()
                            + ": the target is queued; draining, then resigning");
                }
                long since = f.handover().waitingSince() < 0 ? f.now() : f.handover().waitingSince();
                if (f.now() - since >= HANDOVER_WAIT.toMillis()) {
                    return new Decision(new Action.AbandonHandover(c, until), c.action() + " to " + c.to()
                            + " abandoned: no relay of that role queued within " + HANDOVER_WAIT.toSeconds() + " s; still leading");
                }
                return new Decision(new Action.AwaitHandover(c, until), c.action() + " to " + c.to() + " requested by "
                        + c.who() + ": waiting for the target to queue");
            }
        }
        String etcdNote = f.etcd() instanceof EtcdView.Unreachable u ? "; etcd unreachable (" + u.error() + "), the lease still safe" : "";
        return new Decision(new Action.Lead(until), "leading epoch " + epoch + " on a live lease" + etcdNote);
    }

    /** Rungs 5-7. */
    private static Decision campaign(Facts f) {
        if (f.campaign() instanceof Campaign.Won w) {
            if (!(f.lease() instanceof Lease.Alive a) || f.now() >= a.safeUntil()) {
                String why = f.lease() instanceof Lease.Gone g ? g.why() : "not renewed in time";
                return new Decision(new Action.StepDown(), "won epoch " + w.epoch() + " but did not claim it: the lease is " + why);
            }
            if (!(f.etcd() instanceof EtcdView.Reachable r)) {
                return new Decision(new Action.Wait(), "won epoch " + w.epoch() + "; etcd unreachable: waiting for it to "
                        + "confirm the key before claiming");
            }
            if (r.leaderKey().isEmpty() || r.leaderKey().get().epoch() != w.epoch()) {
                return new Decision(new Action.StepDown(), "won epoch " + w.epoch() + " but did not claim it: etcd shows "
                        + r.leaderKey().map(k -> k.instance() + " leading epoch " + k.epoch()).orElse("the leader key vacant"));
            }
            if (!w.warm() && f.role().warmsUpBeforeClaiming()) {
                return new Decision(new Action.WarmUp(w.epoch()), "won epoch " + w.epoch() + ": warming up before claiming it");
            }
            return new Decision(new Action.Claim(w.epoch(), a.safeUntil()), "won the election (epoch " + w.epoch() + ")");
        }
        if (f.etcd() instanceof EtcdView.Unreachable u) {
            return new Decision(new Action.StepDown(), "etcd unreachable while campaigning: " + u.error());
        }
        if (f.lease() instanceof Lease.Gone g) {
            return new Decision(new Action.StepDown(), "the lease was lost while campaigning: " + g.why());
        }
        return switch (f.campaign()) {
            case Campaign.Failed failed -> new Decision(new Action.StepDown(), "the campaign failed: " + failed.why());
            case Campaign.Queued q -> new Decision(new Action.Wait(), queuedBehind(f));
            case Campaign.Idle i -> new Decision(new Action.Campaign(), "campaigning on a new lease");
            case Campaign.Won w -> throw new IllegalStateException("handled above");
        };
    }

    private static String queuedBehind(Facts f) {
        if (f.etcd() instanceof EtcdView.Reachable r && r.leaderKey().isPresent()) {
            return "queued in the election behind " + r.leaderKey().get().instance();
        }
        return "queued in the election; the leader key is vacant";
    }

    /** Rung 9. */
    private static Decision afterSteppingDown(Facts f) {
        if (!f.role().queuesAfterLeading()) {
            return new Decision(new Action.GoCold(), "stepped down; a " + f.roleName() + " waits cold for a vacancy or a promotion");
        }
        return new Decision(new Action.Campaign(), "etcd reachable again: campaigning on a new lease");
    }

    /** Rung 10. */
    private static Decision cold(Facts f, EtcdView.Reachable r) {
        Optional<ClusterState.Command> promotion = r.command().filter(c -> c.to().equals(f.roleName()));
        if (promotion.isPresent()) {
            return new Decision(new Action.Campaign(), "promoted by " + promotion.get().who() + ": " + promotion.get().reason());
        }
        if (r.leaderKey().isPresent()) {
            return new Decision(new Action.Wait(), "cold; " + r.leaderKey().get().instance() + " leads epoch "
                    + r.leaderKey().get().epoch());
        }
        Vacancy vac = f.vacancy();
        if (vac.vacantSince() >= 0 && f.role().mayTakeVacantKey(vac, f.now())) {
            return new Decision(new Action.Campaign(), "leader key vacant for " + (f.now() - vac.vacantSince()) + " ms");
        }
        return new Decision(new Action.Wait(), "cold; the leader key is vacant, settling before taking it");
    }
}
