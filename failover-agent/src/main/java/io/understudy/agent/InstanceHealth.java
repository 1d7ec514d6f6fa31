package io.understudy.agent;

import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.HostStall;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The health state machine of one relay instance, driven by active probes and by what its
 * requests show (the passive signal).
 *
 * <pre>
 *   UNKNOWN --ok--> UP           UNKNOWN/UP --fail--> SUSPECT
 *   SUSPECT --ok--> UP           (a blip: it never reached DOWN)
 *   any --fail x fall--> DOWN
 *   DOWN --ok x rise--> UP       (hysteresis: one good probe is not a recovery)
 *   busy or no verdict: no change (counted, and said in lastError)
 * </pre>
 * The rule that tells dead from busy: a probe that <em>timed out</em> while the instance answered
 * requests (any byte of an answer, or an HTTP error, arrived since the probe began) is "busy"; one
 * that timed out while the host was starved (see {@link #hostExcuse}; the caller gathers the
 * facts) is "no verdict". Neither is a failure, nor changes the state: a
 * burst that saturates the machine never ejects a relay that is answering, nor an idle standby
 * whose probe could not run in time, never re-issues requests and never sends a traffic peak to
 * the standby. A refused connection or a bad status always counts, and so does a timeout while
 * nothing came back at all on a host that was not starved (a dead, frozen or blackholed relay).
 * <p>
 * <p>
 * The passive signal also raises suspicion by itself, before any probe has had time to time out:
 * streams in flight fall quiet together. A stream is overdue when it has been silent for
 * {@value #OVERDUE_MULTIPLE} times the longest gap between its chunks so far, and at least
 * {@value #OVERDUE_FLOOR_MILLIS} ms (see {@link #streamOverdue}). When {@value #OVERDUE_STREAMS} or
 * more streams on an instance are overdue at once, nothing at all came back from it for
 * {@value #OVERDUE_FLOOR_MILLIS} ms or more, and this host did not lose half that span itself, the
 * instance is SUSPECT ({@link #streamsQuiet}): new requests go elsewhere at once instead of queueing
 * into a silence for the probes' verdict. A probe begun during the silence that passed shows the
 * instance alive (a saturated relay pauses all its streams at once): no suspicion then, and the next
 * good probe lifts one. That suspicion is the first of the {@code fall} failures: it is a failure seen
 * by the requests instead of by a probe, so one probe that then times out with nothing back confirms
 * it (0.4 to 0.53 s after the silence began as shipped, against 0.53 to 0.65 s when probes alone
 * decide). Only a probe marks an instance DOWN.
 * <p>
 * SUSPECT is "detected": new requests prefer other instances, but nothing in flight is cut.
 * DOWN is "enforced": the instance gets no traffic and attempts to it that have sent nothing
 * to their client are re-issued elsewhere. All transitions go through {@link #transitionTo};
 * listeners run after the lock is released.
 */
public final class InstanceHealth {
    /** An overdue stream has been silent this many times its longest gap between chunks so far... */
    static final int OVERDUE_MULTIPLE = 8;
    /** ...and at least this long: a stream's gaps grow with the load, and a silence shorter than this is noise. */
    static final long OVERDUE_FLOOR_MILLIS = 100;
    /** Gaps a stream must have shown before its silence counts: two chunks say little of its pace. */
    static final int OVERDUE_MIN_GAPS = 3;
    /** Overdue streams on one instance at once that make it suspect: one stream can pause on its own. */
    static final int OVERDUE_STREAMS = 2;

    /** One change of state, with the reason in words. */
    public record Transition(String instance, HealthState from, HealthState to, String reason, long atMillis) {
    }

    private final String instance;
    private final int fall;
    private final int rise;
    private final LongSupplier clockMillis;
    private final List<java.util.function.Consumer<Transition>> listeners = new CopyOnWriteArrayList<>();
    private HealthState state = HealthState.UNKNOWN;
    private int consecutiveFailures;
    private int consecutiveSuccesses;
    /** The first of consecutiveFailures is quiet streams' (see {@link #streamsQuiet}), not a probe's. */
    private boolean quietStreamsCounted;
    private String lastError = "";
    private long sinceMillis;
    private long busyProbes;
    /** When a request last got anything back from the instance (written on every chunk: no lock). */
    private volatile long lastAnsweredMillis = Long.MIN_VALUE;
    private volatile long lastProbeTimeoutMillis = Long.MIN_VALUE;
    private volatile long lastProbeMillis = Long.MIN_VALUE;
    /** When the latest probe that passed began: one begun during a silence and answered shows the instance alive. */
    private volatile long lastPassedProbeStartedMillis = Long.MIN_VALUE;

    public InstanceHealth(String instance, int fall, int rise, LongSupplier clockMillis) {
        if (fall < 1 || rise < 1) {
            throw new IllegalArgumentException("fall and rise must be at least 1");
        }
        this.instance = instance;
        this.fall = fall;
        this.rise = rise;
        this.clockMillis = clockMillis;
        this.sinceMillis = clockMillis.getAsLong();
    }

    public void onTransition(java.util.function.Consumer<Transition> listener) {
        listeners.add(listener);
    }

    public synchronized HealthState state() {
        return state;
    }

    public synchronized String lastError() {
        return lastError;
    }

    public synchronized long sinceMillis() {
        return sinceMillis;
    }

    public long nowMillis() {
        return clockMillis.getAsLong();
    }

    /** A request to the instance got something back: an answer, a chunk of one, or an HTTP error. */
    public void answered() {
        lastAnsweredMillis = clockMillis.getAsLong();
    }

    /** Probe timeouts excused since start because the instance was answering requests. */
    public synchronized long busyProbes() {
        return busyProbes;
    }

    /**
     * A probe started at {@code startedMillis} timed out. Busy (see the class comment) when a request
     * got an answer since then, or no verdict when {@code hostExcuse} gives a reason (see
     * {@link #hostExcuse}); otherwise a failure like any other. Returns why it did not count, if it did not.
     */
    public Optional<String> probeTimedOut(String error, long startedMillis, Optional<String> hostExcuse) {
        lastProbeTimeoutMillis = clockMillis.getAsLong();
        lastProbeMillis = lastProbeTimeoutMillis;
        boolean answering = lastAnsweredMillis >= startedMillis;
        if ((!answering && hostExcuse.isEmpty()) || state() == HealthState.DOWN) {
            // a down instance gets no traffic: excusing its timeouts would spare nothing, and say nothing
            probeFailed(error + silence(startedMillis, lastProbeTimeoutMillis));
            return Optional.empty();
        }
        Transition t = null;
        String excused;
        synchronized (this) {
            busyProbes++;
            lastError = error + (answering ? " while answering requests: busy, not dead"
                    : " while " + hostExcuse.get() + ": no verdict");
            excused = lastError;
            if (answering && state == HealthState.SUSPECT && lastAnsweredMillis >= sinceMillis) {
                // suspected because nothing came back; answers came back since: the suspicion is refuted
                // (a probe begun before the silence saw the answers that preceded it: those refute nothing)
                consecutiveFailures = 0;
                quietStreamsCounted = false;
                t = transitionTo(HealthState.UP, "answering requests again (" + lastError + ")");
            }
        }
        notifyListeners(t);
        return Optional.of(excused);
    }

    /** The facts behind a timeout that counts, for the reason sentence: how long the probe and the silence lasted. */
    private String silence(long startedMillis, long nowMillis) {
        long answered = lastAnsweredMillis;
        return " (probe began " + (nowMillis - startedMillis) + " ms ago; "
                + (answered == Long.MIN_VALUE ? "no request answered yet" : "last answer " + (nowMillis - answered) + " ms ago") + ")";
    }

    /** What the caller saw of this host and of one upstream while that upstream's probe timed out. */
    record HostDuringProbe(HostStall stall, boolean idle, boolean cpuSaturated, boolean allSlowWhileOneAnswers) {
    }

    /**
     * Why a probe timeout says more about this host than about the upstream, in words; empty when the
     * timeout counts. A host whose own threads (the probe's and the requests' virtual threads
     * included) lost half the probe's time or more could not run the probe, nor read the answers, on
     * time ({@link HostStall}); a few late ticks leave the upstream most of it. Otherwise an
     * upstream with requests in flight gets no excuse: that silence is its own. An idle one is excused
     * when the host's CPU was saturated (it may be a cold JVM on this very host, starved by the burst)
     * or when every probe timed out while one upstream answered requests.
     */
    static Optional<String> hostExcuse(HostDuringProbe h) {
        if (h.stall().explainsSilence()) {
            return Optional.of(h.stall() + " of the probe");
        }
        if (!h.idle()) {
            return Optional.empty();
        }
        if (h.cpuSaturated()) {
            return Optional.of("this host's CPU was saturated and the instance had no request in flight");
        }
        if (h.allSlowWhileOneAnswers()) {
            return Optional.of("every probe timed out while one upstream answered requests");
        }
        return Optional.empty();
    }

    /** When a request to the instance last got something back (epoch millis). */
    public long lastAnsweredMillis() {
        return lastAnsweredMillis;
    }

    /** When a probe of the instance last ended, whatever its result (epoch millis). */
    public long lastProbeMillis() {
        return lastProbeMillis;
    }

    /** When a probe of the instance last timed out, busy or not (epoch millis). */
    public long lastProbeTimeoutMillis() {
        return lastProbeTimeoutMillis;
    }

    /**
     * The load half of "no verdict": every instance probed since {@code startedMillis} (less one
     * interval of slack) timed out too, more than one was probed, and one of them answered requests
     * since then. The path works and everything on it is slow: a saturated machine, not a death. When
     * nothing answers anywhere, it is an outage, and timeouts stay verdicts.
     */
    static boolean allSlowWhileOneAnswers(java.util.Collection<InstanceHealth> all, long startedMillis, long intervalMillis) {
        long window = startedMillis - intervalMillis;
        boolean answering = false;
        int probed = 0;
        for (InstanceHealth h : all) {
            if (h.lastProbeMillis < window) {
                continue; // not probed lately (quiet): no evidence either way
            }
            probed++;
            if (h.lastProbeTimeoutMillis < window) {
                return false; // its probe was answered in time: this host can probe
            }
            answering |= h.lastAnsweredMillis >= startedMillis;
        }
        return probed > 1 && answering;
    }

    /**
     * Whether a stream silent for {@code silentNanos}, whose longest gap between chunks was
     * {@code longestGapNanos} over {@code gaps} gaps, is overdue (see the class comment).
     */
    static boolean streamOverdue(long silentNanos, long longestGapNanos, int gaps) {
        return silentNanos >= overdueAfterNanos(longestGapNanos, gaps);
    }

    /** The silence after which such a stream is overdue; {@code Long.MAX_VALUE} before it has shown its pace. */
    private static long overdueAfterNanos(long longestGapNanos, int gaps) {
        return gaps < OVERDUE_MIN_GAPS ? Long.MAX_VALUE
                : Math.max(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(OVERDUE_FLOOR_MILLIS), OVERDUE_MULTIPLE * longestGapNanos);
    }

    /**
     * Streams in flight went quiet: {@code overdue} of them are overdue, the instance has answered
     * nothing for {@code silentMillis}, and {@code stall} is what this host lost over that span. UP
     * (or not yet probed) becomes SUSPECT when that is evidence (see the class comment), and that
     * counts as the first of {@code fall} failures; otherwise nothing changes. Returns the
     * transition's reason when it made one.
     */
    public Optional<String> streamsQuiet(int overdue, long silentMillis, HostStall stall) {
        if (overdue < OVERDUE_STREAMS || silentMillis < OVERDUE_FLOOR_MILLIS || stall.explainsSilence()
                || lastPassedProbeStartedMillis >= clockMillis.getAsLong() - silentMillis) {
            return Optional.empty(); // a probe begun during the silence passed: alive, busy, not dead
        }
        Transition t = null;
        synchronized (this) {
            if (state == HealthState.UP || state == HealthState.UNKNOWN) {
                lastError = overdue + " streams in flight fell quiet together: nothing came back from it for "
                        + silentMillis + " ms";
                consecutiveSuccesses = 0;
                consecutiveFailures = 1; // the first of fall: a probe that times out next confirms it
                quietStreamsCounted = true;
                t = transitionTo(HealthState.SUSPECT, lastError);
            }
        }
        notifyListeners(t);
        return Optional.ofNullable(t).map(Transition::reason);
    }

    /** A probe answered healthy (one begun now: see {@link #probeSucceeded(long)}). */
    public void probeSucceeded() {
        probeSucceeded(clockMillis.getAsLong());
    }

    /** A probe begun at {@code startedMillis} answered healthy. */
    public void probeSucceeded(long startedMillis) {
        lastProbeMillis = clockMillis.getAsLong();
        lastPassedProbeStartedMillis = Math.max(lastPassedProbeStartedMillis, startedMillis);
        Transition t;
        synchronized (this) {
            consecutiveFailures = 0;
            quietStreamsCounted = false;
            consecutiveSuccesses++;
            t = switch (state) {
                case UNKNOWN -> transitionTo(HealthState.UP, "first probe passed");
                case SUSPECT -> transitionTo(HealthState.UP, "probe passed again");
                case DOWN -> consecutiveSuccesses >= rise
                        ? transitionTo(HealthState.UP, rise + " probes passed in a row") : null;
                case UP -> null;
            };
        }
        notifyListeners(t);
    }

    /** A probe failed (error, bad status or timeout). */
    public void probeFailed(String error) {
        lastProbeMillis = clockMillis.getAsLong();
        Transition t;
        synchronized (this) {
            consecutiveSuccesses = 0;
            consecutiveFailures++;
            lastError = error;
            if (consecutiveFailures >= fall && state != HealthState.DOWN) {
                t = transitionTo(HealthState.DOWN, (quietStreamsCounted
                        ? "streams fell quiet, then " + (consecutiveFailures - 1) + " probe(s) failed: "
                        : fall + " probes failed in a row: ") + error);
            } else if (state == HealthState.UP || state == HealthState.UNKNOWN) {
                t = transitionTo(HealthState.SUSPECT, "probe failed: " + error);
            } else {
                t = null;
            }
        }
        notifyListeners(t);
    }

    private Transition transitionTo(HealthState to, String reason) {
        HealthState from = state;
        if (from == to) {
            return null;
        }
        state = to;
        sinceMillis = clockMillis.getAsLong();
        return new Transition(instance, from, to, reason, sinceMillis);
    }

    private void notifyListeners(Transition t) {
        if (t == null) {
            return;
        }
        for (var listener : listeners) {
            try {
                listener.accept(t);
            } catch (RuntimeException e) {
                // a listener's bug must not break the state machine
                java.util.logging.Logger.getLogger(InstanceHealth.class.getName())
                        .log(java.util.logging.Level.WARNING, "health listener failed", e);
            }
        }
    }
}
