package io.understudy.agent;

import dev.failsafe.CircuitBreaker;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.Provider;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One place the agent can send a request: a relay instance or a provider called directly.
 * Holds what the failover decision reads about it: active health (relays), the passive circuit
 * breaker, Retry-After cooldowns, and a load score for spreading within a tier.
 */
final class Upstream {
    enum Kind { RELAY, DIRECT }

    private static final String WHOLE_UPSTREAM = "";
    private static final Duration DEFAULT_RATE_LIMIT_COOLDOWN = Duration.ofSeconds(1);
    private static final Duration DRAINING_COOLDOWN = Duration.ofSeconds(1);

    private final String name;
    private final String tier;
    private final int tierIndex;
    private final Kind kind;
    private final int weight;
    private final Provider provider;
    private final InstanceHealth health;
    private final CircuitBreaker<Object> breaker;
    private final int consecutiveFailuresToOpen;
    private final Map<String, Long> coolingUntil = new ConcurrentHashMap<>();
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final Set<AttemptWorker> active = ConcurrentHashMap.newKeySet();
    private volatile double latencyEwmaMillis;

    Upstream(String name, String tier, int tierIndex, Kind kind, int weight, Provider provider, InstanceHealth health,
             CircuitBreaker<Object> breaker, int consecutiveFailuresToOpen) {
        this.name = name;
        this.tier = tier;
        this.tierIndex = tierIndex;
        this.kind = kind;
        this.weight = weight;
        this.provider = provider;
        this.health = health;
        this.breaker = breaker;
        this.consecutiveFailuresToOpen = consecutiveFailuresToOpen;
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

    Kind kind() {
        return kind;
    }

    Provider provider() {
        return provider;
    }

    /** Active health; providers called directly have no probe and count as UP (the breaker guards them). */
    Optional<InstanceHealth> health() {
        return Optional.ofNullable(health);
    }

    InstanceHealth.State healthState() {
        return health == null ? InstanceHealth.State.UP : health.state();
    }

    CircuitBreaker<Object> breaker() {
        return breaker;
    }

    /**
     * Open and still inside its delay. Failsafe moves an open breaker to half-open only when a permit
     * is asked for, so once the delay has passed the upstream must be offered for a trial call.
     */
    boolean circuitOpen() {
        return breaker.isOpen() && breaker.getRemainingDelay().toMillis() > 0;
    }

    /** closed, open, half_open, or open_ready (delay over: the next call is a trial). */
    String circuitState() {
        return switch (breaker.getState()) {
            case CLOSED -> "closed";
            case HALF_OPEN -> "half_open";
            case OPEN -> circuitOpen() ? "open" : "open_ready";
        };
    }

    int inflight() {
        return inflight.get();
    }

    double latencyMillis() {
        return latencyEwmaMillis;
    }

    /** Lower is better: latency weighted by load, divided by the configured weight. */
    double score() {
        return (latencyEwmaMillis + 1) * (inflight.get() + 1) / weight;
    }

    /** When this upstream may be called again for {@code model} (Retry-After), epoch millis. */
    long coolingUntil(String model) {
        return Math.max(coolingUntil.getOrDefault(WHOLE_UPSTREAM, 0L), coolingUntil.getOrDefault(model, 0L));
    }

    Map<String, Long> cooldowns() {
        return Map.copyOf(coolingUntil);
    }

    Set<AttemptWorker> activeAttempts() {
        return active;
    }

    void started(AttemptWorker worker) {
        inflight.incrementAndGet();
        active.add(worker);
    }

    void finished(AttemptWorker worker) {
        if (active.remove(worker)) {
            inflight.decrementAndGet();
        }
    }

    void succeeded(long latencyMillis) {
        consecutiveFailures.set(0);
        breaker.recordSuccess();
        double previous = latencyEwmaMillis;
        latencyEwmaMillis = previous == 0 ? latencyMillis : previous * 0.8 + latencyMillis * 0.2;
    }

    /**
     * Records a failed attempt. Only failures that are this upstream's fault count against it: an
     * error the relay marks as coming from its provider leaves the relay's health alone.
     */
    void failed(Failure failure, String model, long nowMillis) {
        if (failure instanceof Failure.Unavailable u && u.kind() == Failure.UnavailableKind.MARKED_DOWN) {
            // draining for a handover (or already marked down by probes): steer new requests elsewhere
            // for a moment, and do not count it as a fault: it is a deliberate, healthy state
            coolingUntil.merge(WHOLE_UPSTREAM, nowMillis + DRAINING_COOLDOWN.toMillis(), Math::max);
            return;
        }
        if (failure instanceof Failure.RateLimited limited) {
            // Honour Retry-After: this upstream (for this model, when it is the provider behind a relay
            // that said so) is not called again before it allows.
            long until = nowMillis + limited.retryAfter().orElse(DEFAULT_RATE_LIMIT_COOLDOWN).toMillis();
            String key = kind == Kind.RELAY && limited.origin() == Origin.PROVIDER ? model : WHOLE_UPSTREAM;
            coolingUntil.merge(key, until, Math::max);
        }
        if (blames(failure)) {
            breaker.recordFailure();
            if (consecutiveFailures.incrementAndGet() >= consecutiveFailuresToOpen && breaker.isClosed()) {
                breaker.open();
            }
        } else {
            // it answered properly (with someone else's error): the upstream itself works
            consecutiveFailures.set(0);
            breaker.recordSuccess();
        }
    }

    /** Whether a failure is this upstream's own fault. */
    boolean blames(Failure failure) {
        return switch (failure) {
            case Failure.ClientError ignored -> false;
            case Failure.RateLimited ignored -> false;
            case Failure.Retryable r -> kind == Kind.DIRECT || r.origin() != Origin.PROVIDER;
            case Failure.Unavailable u -> kind == Kind.DIRECT || u.origin() != Origin.PROVIDER;
        };
    }
}
