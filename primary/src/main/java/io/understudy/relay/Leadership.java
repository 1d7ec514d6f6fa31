package io.understudy.relay;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The leadership state machine of one relay.
 *
 * <pre>
 *   COLD ------------(leader key vacant, or promoted)----------> CANDIDATE
 *   CANDIDATE -------(won the election: epoch = key revision)---> LEADER
 *   LEADER ----------(asked to hand over)------------------------> DRAINING --(resigned)--> CANDIDATE
 *   LEADER/DRAINING --(lease not renewed in time, or revoked)----> STEPPED_DOWN
 *   CANDIDATE/STEPPED_DOWN --(etcd unreachable / reachable again)-> STEPPED_DOWN / CANDIDATE
 * </pre>
 * A primary starts as CANDIDATE, a standby as COLD. A relay that is not LEADER keeps serving the
 * requests agents send it; leadership decides where agents send steady-state traffic. Every change
 * goes through {@link #transitionTo}; listeners run after the lock is released.
 */
public final class Leadership {
    public enum State { COLD, CANDIDATE, LEADER, DRAINING, STEPPED_DOWN }

    /** A snapshot: state, the epoch held (0 when not leader), why, and since when. */
    public record View(State state, long epoch, String reason, long sinceMillis) {
        public boolean leader() {
            return state == State.LEADER || state == State.DRAINING;
        }
    }

    private final LongSupplier clockMillis;
    private final List<Consumer<View>> listeners = new CopyOnWriteArrayList<>();
    private View view;

    public Leadership(boolean startCold, LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        this.view = new View(startCold ? State.COLD : State.CANDIDATE, 0,
                startCold ? "standby starts cold" : "primary campaigns at start", clockMillis.getAsLong());
    }

    public void onChange(Consumer<View> listener) {
        listeners.add(listener);
    }

    public synchronized View view() {
        return view;
    }

    public void campaigning(String reason) {
        transitionTo(State.CANDIDATE, 0, reason);
    }

    public void won(long epoch) {
        transitionTo(State.LEADER, epoch, "won the election");
    }

    public void draining(String reason) {
        View v = view();
        if (v.state() == State.LEADER) {
            transitionTo(State.DRAINING, v.epoch(), reason);
        }
    }

    /** Lost or gave up the lease: never claim leadership from here without winning again. */
    public void steppedDown(String reason) {
        transitionTo(State.STEPPED_DOWN, 0, reason);
    }

    private void transitionTo(State to, long epoch, String reason) {
        View next;
        synchronized (this) {
            if (view.state() == to && view.epoch() == epoch) {
                return;
            }
            next = new View(to, epoch, reason, clockMillis.getAsLong());
            view = next;
        }
        for (Consumer<View> listener : listeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                java.util.logging.Logger.getLogger(Leadership.class.getName())
                        .log(java.util.logging.Level.WARNING, "leadership listener failed", e);
            }
        }
    }
}
