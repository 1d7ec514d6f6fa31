package io.understudy.agent;

import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.UpstreamCircuits;
import io.understudy.core.failover.FirstTokenDeadline;
import dev.failsafe.CircuitBreaker;
import io.understudy.core.error.Failure;
import io.understudy.core.provider.Provider;
import io.understudy.core.routing.Balancer;
import io.understudy.core.routing.LiveStats;
import io.understudy.core.routing.LiveTargets;
import io.understudy.core.routing.Slo;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One place the agent can send a request: a relay instance or a provider called directly.
 * Holds what the failover decision reads about it: active health (relays), the passive circuit
 * breakers (one for the upstream, one per failing model), Retry-After cooldowns (the upstream's
 * own, or per model), and its configured weight with what it did lately ({@link LiveTargets}), for
 * sharing traffic among peers.
 */
final class Upstream {
    private final String name;
    private final String tier;
    private final int tierIndex;
    private final int weight;
    private final Provider provider;
    private final InstanceHealth health;
    private final UpstreamCircuits circuits;
    private final AtomicInteger inflight = new AtomicInteger();
    private final Set<AttemptWorker> active = ConcurrentHashMap.newKeySet();
    private final Map<String, FirstTokenDeadline.Samples> firstTokens = new ConcurrentHashMap<>();
    private final LiveTargets live;
    private volatile long lastStartedMillis;
    private final java.util.concurrent.atomic.AtomicLong lastOverdueCountNanos = new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 1_000_000_000L);
    /**
     * A relay that answered a request with a requirement without confirming it enforced it: it is
     * not sent requests with a requirement again (until the agent restarts), since each such call
     * may reach a provider the client ruled out.
     */
    private volatile boolean ignoresRequirements;

    Upstream(String name, String tier, int tierIndex, int weight, Provider provider, InstanceHealth health,
             UpstreamCircuits circuits, LiveTargets live) {
        this.name = name;
        this.tier = tier;
        this.tierIndex = tierIndex;
        this.weight = weight;
        this.provider = provider;
        this.health = health;
        this.circuits = circuits;
        this.live = live;
    }

    String name() {
        return name;
    }

    String tier() {
        return tier;
    }

    int tierIndex() {
        return tierIndex;
    }

    UpstreamCircuits.Kind kind() {
        return circuits.kind();
    }

    Provider provider() {
        return provider;
    }

    /** Active health; empty when the tier's probes are disabled (then it counts as UP: the breaker guards it). */
    Optional<InstanceHealth> health() {
        return Optional.ofNullable(health);
    }

    HealthState healthState() {
        return health == null ? HealthState.UP : health.state();
    }

    CircuitBreaker<Object> breaker() {
        return circuits.breaker();
    }

    boolean circuitOpen() {
        return circuits.circuitOpen();
    }

    /** Shut out for {@code model}: the whole upstream's circuit, or that model's. */
    boolean circuitOpen(String model, long nowMillis) {
        return circuits.circuitOpen(model, nowMillis);
    }

    /** Models whose own circuit is open, and for how long yet (ms). */
    Map<String, Long> openModels(long nowMillis) {
        return circuits.openModels(nowMillis);
    }

    /** closed, open, half_open, or open_ready (delay over: the next call is a trial). */
    String circuitState() {
        return circuits.circuitState();
    }

    void ignoresRequirements() {
        ignoresRequirements = true;
    }

    boolean knownToIgnoreRequirements() {
        return ignoresRequirements;
    }

    int inflight() {
        return inflight.get();
    }

    int weight() {
        return weight;
    }

    /** What it did lately for {@code model}, and where it stands against {@code slo}. */
    Balancer.Live live(String model, Optional<Slo> slo, long nowMillis) {
        return live.live(name, model, slo, nowMillis);
    }

    /** Each model's live signals here (for /status). */
    Map<String, LiveStats.Signals> signals(long nowMillis) {
        return live.signals(name, nowMillis);
    }

    /** When this upstream may be called again for {@code model} (Retry-After), epoch millis. */
    long coolingUntil(String model) {
        return circuits.coolingUntil(model);
    }

    Map<String, Long> cooldowns() {
        return circuits.cooldowns();
    }

    Set<AttemptWorker> activeAttempts() {
        return active;
    }

    /**
     * True at most once per half a {@link StreamWatcher#TICK}: each overdue stream asks, and counting
     * {@link #overdueStreams} reads them all, so once per tick is enough (thousands of streams on a
     * starved host would otherwise count each other thousands of times a tick).
     */
    boolean overdueCountDue(long nowNanos) {
        long last = lastOverdueCountNanos.get();
        return nowNanos - last >= StreamWatcher.TICK.toNanos() / 2 && lastOverdueCountNanos.compareAndSet(last, nowNanos);
    }

    /** Committed streams on this upstream silent well past their own pace (see {@link InstanceHealth#streamOverdue}). */
    int overdueStreams() {
        int n = 0;
        for (AttemptWorker w : active) {
            if (w.overdue()) {
                n++;
            }
        }
        return n;
    }

    /** A request got something back from this upstream: the passive half of its health. */
    void answered() {
        if (health != null) {
            health.answered();
        }
    }

    /** When the last attempt on this upstream began (epoch millis; 0: never). */
    long lastStartedMillis() {
        return lastStartedMillis;
    }

    void started(AttemptWorker worker) {
        lastStartedMillis = System.currentTimeMillis();
        inflight.incrementAndGet();
        active.add(worker);
    }

    void finished(AttemptWorker worker) {
        if (active.remove(worker)) {
            inflight.decrementAndGet();
        }
    }

    void succeeded(String model, long latencyMillis) {
        circuits.succeeded(model);
        live.completed(name, model, latencyMillis, System.currentTimeMillis());
    }

    /** A stream's first token came {@code millis} after the attempt began: an adaptive-wait sample, and a live one. */
    void firstToken(String model, Optional<Slo> slo, long millis) {
        firstTokens(model).record(millis, System.nanoTime());
        live.firstToken(name, model, slo, millis, System.currentTimeMillis());
    }

    /** The recent first-token times of {@code model} here (a throwaway past 256 models: names come from clients). */
    FirstTokenDeadline.Samples firstTokens(String model) {
        FirstTokenDeadline.Samples samples = firstTokens.get(model);
        if (samples != null) {
            return samples;
        }
        if (firstTokens.size() >= 256) {
            return new FirstTokenDeadline.Samples();
        }
        return firstTokens.computeIfAbsent(model, m -> new FirstTokenDeadline.Samples());
    }

    /** Records a failed attempt for {@code model} (the model asked of this upstream); see {@link UpstreamCircuits#blame}. */
    void failed(Failure failure, String model, long nowMillis) {
        circuits.failed(failure, model, nowMillis, health != null && health.state() == HealthState.UP);
        if (!(failure instanceof Failure.ClientError)) { // a request's own fault says nothing of the upstream
            live.failed(name, model, nowMillis);
        }
    }
}
