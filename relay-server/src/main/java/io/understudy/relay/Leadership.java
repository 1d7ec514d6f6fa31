package io.understudy.relay;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The leadership state of one relay, and the transitions it allows ({@link #ALLOWED}):
 *
 * <pre>
 *   COLD ----------(leader key vacant, or promoted)------------> CANDIDATE
 *   CANDIDATE -----(won the election, lease alive)-------------> LEADER
 *   CANDIDATE -----(lease lost, campaign failed, etcd gone)----> STEPPED_DOWN
 *   LEADER --------(switchover: target queued)-----------------> DRAINING
 *   LEADER/DRAINING (lease not renewed in time, key lost)-------> STEPPED_DOWN
 *   DRAINING ------(resigned)----------------------------------> CANDIDATE (primary) / COLD (standby)
 *   STEPPED_DOWN --(etcd reachable)----------------------------> CANDIDATE (primary) / COLD (standby)
 * </pre>
 * A primary starts as CANDIDATE, a standby as COLD. {@link LeadershipCycle} decides; its executor,
 * {@link Campaigner}, is the only writer. A relay that is not LEADER keeps serving the requests
 * agents send it; leadership decides where agents send steady-state traffic.
 * <p>
 * A claim is bounded in time: it holds until the moment the lease was sure to be alive
 * ({@link #claimsLeadership}), and only the cycle extends it. A relay whose loop is stuck (an etcd
 * call, a long pause) stops claiming on its own before its lease can lapse in etcd.
 */
public final class Leadership {
    public enum State { COLD, CANDIDATE, LEADER, DRAINING, STEPPED_DOWN }

    /** Every transition the cycle may make; anything else is a bug. */
    static final Map<State, Set<State>> ALLOWED = allowed();

    /** A snapshot: state, the epoch held (0 when not leader), why, and since when. */
    public record View(State state, long epoch, String reason, long sinceMillis) {
        /** Holds the LEADER or DRAINING state (see {@link #claimsLeadership} for what it tells others). */
        public boolean leader() {
            return state == State.LEADER || state == State.DRAINING;
        }
    }

    /** One change, for listeners (logging, registration, the transitions metric). */
    public record Change(State from, View to) {
    }

    private final LongSupplier clockMillis;
    private final List<Consumer<Change>> listeners = new CopyOnWriteArrayList<>();
    private View view;
    private volatile long claimUntil = Long.MIN_VALUE;

    public Leadership(boolean startCold, LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        this.view = new View(startCold ? State.COLD : State.CANDIDATE, 0,
                startCold ? "standby starts cold" : "primary campaigns at start", clockMillis.getAsLong());
    }

    public void onChange(Consumer<Change> listener) {
        listeners.add(listener);
    }

    public synchronized View view() {
        return view;
    }

    /**
     * What this relay tells agents: leader of its epoch, while its lease is sure to be alive. False
     * once the claim's time is up, whatever the state says, until the cycle extends it.
     */
    public boolean claimsLeadership() {
        return view().leader() && clockMillis.getAsLong() < claimUntil;
    }

    void campaigning(String reason) {
        transitionTo(State.CANDIDATE, 0, reason);
    }

    /** Won {@code epoch} on a lease sure to be alive until {@code until}. */
    void won(long epoch, long until, String reason) {
        claimUntil = until;
        transitionTo(State.LEADER, epoch, reason);
    }

    /** The lease was renewed: the claim holds until {@code until}. */
    void extendClaim(long until) {
        if (view().leader()) {
            claimUntil = until;
        }
    }

    /** Stops claiming now, whatever the lease: a leader about to resign must not overlap its successor. */
    void withdrawClaim() {
        claimUntil = Long.MIN_VALUE;
    }

    void draining(String reason) {
        transitionTo(State.DRAINING, view().epoch(), reason);
    }

    /** Lost or gave up the lease: never claim leadership from here without winning again. */
    void steppedDown(String reason) {
        transitionTo(State.STEPPED_DOWN, 0, reason);
    }

    void cold(String reason) {
        transitionTo(State.COLD, 0, reason);
    }

    private void transitionTo(State to, long epoch, String reason) {
        Change change;
        synchronized (this) {
            State from = view.state();
            if (from == to && view.epoch() == epoch) {
                return;
            }
            if (from != to && !ALLOWED.get(from).contains(to)) {
                throw new IllegalStateException("leadership cannot go from " + from + " to " + to + " (" + reason + ")");
            }
            if (to != State.LEADER && to != State.DRAINING) {
                claimUntil = Long.MIN_VALUE;
            }
            view = new View(to, epoch, reason, clockMillis.getAsLong());
            change = new Change(from, view);
        }
        for (Consumer<Change> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                java.util.logging.Logger.getLogger(Leadership.class.getName())
                        .log(java.util.logging.Level.WARNING, "leadership listener failed", e);
            }
        }
    }

    private static Map<State, Set<State>> allowed() {
        Map<State, Set<State>> m = new EnumMap<>(State.class);
        m.put(State.COLD, EnumSet.of(State.CANDIDATE));
        m.put(State.CANDIDATE, EnumSet.of(State.LEADER, State.STEPPED_DOWN));
        m.put(State.LEADER, EnumSet.of(State.DRAINING, State.STEPPED_DOWN));
        m.put(State.DRAINING, EnumSet.of(State.CANDIDATE, State.COLD, State.STEPPED_DOWN));
        m.put(State.STEPPED_DOWN, EnumSet.of(State.CANDIDATE, State.COLD));
        return java.util.Collections.unmodifiableMap(m);
    }
}
