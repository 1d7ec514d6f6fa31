package io.understudy.core.failover;

import java.util.HashMap;
import java.util.Map;

/**
 * Circuit state per model of one upstream, for errors that belong to one model (a 5xx the provider
 * answered for it), so that one failing model never blocks the others on the same upstream.
 *
 * <pre>
 *   closed --failure x threshold in a row--> open
 *   open --open-for elapsed--> on trial (calls pass)
 *   on trial --success--> closed      on trial --failure--> open again
 * </pre>
 * The upstream answered, so it is alive: a trial needs no permit scheme, the first result decides.
 * Bounded: only models that failed have an entry, and closed entries go first when it is full.
 */
public final class ModelCircuits {
    private static final int MAX_MODELS = 256;

    private record State(int consecutiveFailures, long openUntilMillis, boolean onTrial) {
        static final State CLOSED = new State(0, 0, false);
    }

    private final int threshold;
    private final long openForMillis;
    private final Map<String, State> byModel = new HashMap<>();

    public ModelCircuits(int threshold, long openForMillis) {
        this.threshold = Math.max(1, threshold);
        this.openForMillis = openForMillis;
    }

    /** Whether {@code model} is shut out now (open and inside its open period). */
    public synchronized boolean open(String model, long nowMillis) {
        State s = byModel.get(model);
        return s != null && s.openUntilMillis() > nowMillis;
    }

    /** @return true when this failure opened the circuit */
    public synchronized boolean failed(String model, long nowMillis) {
        State s = byModel.getOrDefault(model, State.CLOSED);
        if (s.openUntilMillis() > nowMillis) {
            return false; // already open: a call that started before it opened
        }
        int failures = s.consecutiveFailures() + 1;
        boolean opens = s.onTrial() || failures >= threshold;
        makeRoom(model);
        byModel.put(model, opens ? new State(failures, nowMillis + openForMillis, true) : new State(failures, 0, false));
        return opens;
    }

    /** @return true when this success closed an open circuit */
    public synchronized boolean succeeded(String model) {
        State s = byModel.remove(model);
        return s != null && s.onTrial();
    }

    /** Models with an open circuit, and for how long yet (ms). */
    public synchronized Map<String, Long> openFor(long nowMillis) {
        Map<String, Long> out = new HashMap<>();
        byModel.forEach((m, s) -> {
            if (s.openUntilMillis() > nowMillis) {
                out.put(m, s.openUntilMillis() - nowMillis);
            }
        });
        return out;
    }

    private void makeRoom(String model) {
        if (byModel.size() < MAX_MODELS || byModel.containsKey(model)) {
            return;
        }
        byModel.entrySet().removeIf(e -> !e.getValue().onTrial());
        if (byModel.size() >= MAX_MODELS) {
            byModel.clear(); // every entry open or on trial: forgetting beats growing without bound
        }
    }
}
