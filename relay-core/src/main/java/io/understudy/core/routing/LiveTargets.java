package io.understudy.core.routing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live measurements the {@link Balancer} reads, for every upstream a process calls: a relay's
 * providers, the agent's relays and direct providers. {@link LiveStats} per (upstream, model), and
 * per (upstream, {@link Slo}) the first tokens of the SLO's window and its {@link SloState}. One
 * instance lives as long as the process: a reload keeps what was measured.
 */
public final class LiveTargets {
    /** Model names come from clients: past this many per upstream, a model's answers are not kept. */
    static final int MAX_MODELS = 256;
    /** First tokens kept per (upstream, SLO): the p99 of a window holds at least this many of the latest. */
    static final int WINDOW_CAPACITY = 2048;

    /** Told when an SLO is first tracked for an upstream and when its share moves (for metrics and logs). */
    public interface Listener {
        Listener NONE = new Listener() {
        };

        /** {@code state} reads the SLO's current state on {@code upstream} (for gauges). */
        default void tracking(String upstream, String slo, java.util.function.Supplier<SloState> state) {
        }

        /** {@code away}: the share was cut (else given back). */
        default void shifted(String upstream, Slo slo, SloState after, boolean away) {
        }
    }

    /** One SLO's state on one upstream, for /status and metrics. */
    public record SloView(String upstream, String slo, SloState state) {
    }

    private record Key(String upstream, String slo) {
    }

    private final Listener listener;
    private final Map<String, Map<String, LiveStats>> stats = new ConcurrentHashMap<>();
    private final Map<Key, Window> windows = new ConcurrentHashMap<>();

    public LiveTargets(Listener listener) {
        this.listener = listener;
    }

    /** A stream's first token came {@code millis} after its attempt on {@code upstream} began. */
    public void firstToken(String upstream, String model, Optional<Slo> slo, long millis, long nowMillis) {
        stats(upstream, model).firstToken(millis, nowMillis);
        slo.ifPresent(s -> window(upstream, s).record(millis, nowMillis));
    }

    /** An attempt ended well after {@code totalMillis}. */
    public void completed(String upstream, String model, long totalMillis, long nowMillis) {
        stats(upstream, model).completed(totalMillis, nowMillis);
    }

    /** An attempt failed for a reason that is the upstream's, not the request's. */
    public void failed(String upstream, String model, long nowMillis) {
        stats(upstream, model).failed(nowMillis);
    }

    /** What the balancer reads of {@code upstream} for {@code model}; judges the SLO when a step is due. */
    public Balancer.Live live(String upstream, String model, Optional<Slo> slo, long nowMillis) {
        Map<String, LiveStats> byModel = stats.get(upstream);
        LiveStats s = byModel == null ? null : byModel.get(model);
        Optional<SloState> state = slo.map(o -> window(upstream, o).judge(o, nowMillis, upstream, listener));
        return new Balancer.Live(s == null ? LiveStats.Signals.NONE : s.signals(nowMillis), state);
    }

    /** Each model's signals on {@code upstream}, by name. */
    public Map<String, LiveStats.Signals> signals(String upstream, long nowMillis) {
        Map<String, LiveStats.Signals> out = new TreeMap<>();
        Map<String, LiveStats> byModel = stats.get(upstream);
        if (byModel != null) {
            byModel.forEach((model, s) -> out.put(model, s.signals(nowMillis)));
        }
        return out;
    }

    /** Every tracked SLO's state, by upstream and SLO name. */
    public List<SloView> slos() {
        List<SloView> out = new ArrayList<>();
        windows.forEach((k, w) -> out.add(new SloView(k.upstream(), k.slo(), w.state())));
        out.sort(java.util.Comparator.comparing(SloView::upstream).thenComparing(SloView::slo));
        return out;
    }

    /**
     * Writes what is known of {@code upstream} into a /status object: {@code live} (per model, its
     * first token and answer times in ms and its error rate) and {@code slos} (each SLO's verdict,
     * share, p99 and why).
     */
    public void describe(String upstream, com.fasterxml.jackson.databind.node.ObjectNode into, long nowMillis) {
        com.fasterxml.jackson.databind.node.ObjectNode models = into.putObject("live");
        signals(upstream, nowMillis).forEach((model, sig) -> {
            com.fasterxml.jackson.databind.node.ObjectNode o = models.putObject(model);
            putMillis(o, "first_token_ms", sig.firstTokenMillis());
            putMillis(o, "answer_ms", sig.totalMillis());
            o.put("error_rate", Math.round(sig.errorRate() * 1000) / 1000.0);
        });
        com.fasterxml.jackson.databind.node.ArrayNode list = into.putArray("slos");
        for (SloView v : slos()) {
            if (v.upstream().equals(upstream)) {
                SloState st = v.state();
                com.fasterxml.jackson.databind.node.ObjectNode o = list.addObject().put("slo", v.slo())
                        .put("verdict", st.verdict().name().toLowerCase(java.util.Locale.ROOT))
                        .put("share", Math.round(st.share() * 100) / 100.0).put("samples", st.samples());
                st.p99Millis().ifPresent(p99 -> o.put("p99_first_token_ms", p99));
                o.put("shifts_away", st.shiftsAway()).put("shifts_back", st.shiftsBack()).put("reason", st.reason());
            }
        }
    }

    private static void putMillis(com.fasterxml.jackson.databind.node.ObjectNode o, String key, double millis) {
        if (Double.isNaN(millis)) {
            o.putNull(key);
        } else {
            o.put(key, Math.round(millis * 10) / 10.0);
        }
    }

    /** The state of {@code slo} on {@code upstream}, if it is tracked. */
    public Optional<SloState> slo(String upstream, String slo) {
        Window w = windows.get(new Key(upstream, slo));
        return w == null ? Optional.empty() : Optional.of(w.state());
    }

    private LiveStats stats(String upstream, String model) {
        Map<String, LiveStats> byModel = stats.computeIfAbsent(upstream, u -> new ConcurrentHashMap<>());
        LiveStats s = byModel.get(model);
        if (s != null) {
            return s;
        }
        if (byModel.size() >= MAX_MODELS) {
            return new LiveStats();
        }
        return byModel.computeIfAbsent(model, m -> new LiveStats());
    }

    private Window window(String upstream, Slo slo) {
        Key key = new Key(upstream, slo.name());
        Window w = windows.get(key);
        if (w != null) {
            return w;
        }
        boolean[] created = new boolean[1];
        w = windows.computeIfAbsent(key, k -> {
            created[0] = true;
            return new Window();
        });
        if (created[0]) {
            listener.tracking(upstream, slo.name(), w::state);
        }
        return w;
    }

    /** The latest first tokens of one (upstream, SLO), with their times, and its state. */
    private static final class Window {
        private final long[] at = new long[WINDOW_CAPACITY];
        private final long[] millis = new long[WINDOW_CAPACITY];
        private int count;
        private int next;
        private volatile SloState state = SloState.initial();

        synchronized void record(long firstTokenMillis, long nowMillis) {
            at[next] = nowMillis;
            millis[next] = firstTokenMillis;
            next = (next + 1) % WINDOW_CAPACITY;
            count = Math.min(WINDOW_CAPACITY, count + 1);
        }

        SloState state() {
            return state;
        }

        /** Moves the state on when a step is due; cheap when it is not (most calls). */
        SloState judge(Slo slo, long nowMillis, String upstream, Listener listener) {
            SloState current = state;
            if (current.steppedAtMillis() != Long.MIN_VALUE && nowMillis - current.steppedAtMillis() < slo.shiftEvery().toMillis()) {
                return current;
            }
            SloState after;
            synchronized (this) {
                current = state;
                long since = nowMillis - slo.window().toMillis();
                long[] inWindow = new long[count];
                int n = 0;
                for (int i = 0; i < count; i++) {
                    if (at[i] > since) {
                        inWindow[n++] = millis[i];
                    }
                }
                OptionalLong p99 = OptionalLong.empty();
                if (n >= slo.minSamples()) {
                    Arrays.sort(inWindow, 0, n);
                    p99 = OptionalLong.of(inWindow[Math.max(0, (int) Math.ceil(0.99 * n) - 1)]);
                }
                after = current.next(slo, p99, n, nowMillis);
                state = after;
            }
            if (after.share() != current.share()) {
                listener.shifted(upstream, slo, after, after.share() < current.share());
            }
            return after;
        }
    }
}
