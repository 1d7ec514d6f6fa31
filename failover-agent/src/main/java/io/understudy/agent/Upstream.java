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
 * breakers (one for the upstream, one per failing model), Retry-After cooldowns (the upstream's
 * own, or per model), and a load score for spreading within a tier.
 */
final class Upstream {
    enum Kind { RELAY, DIRECT }

    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(Upstream.class.getName());
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
    private final ModelCircuits modelCircuits;
    private final Map<String, Long> coolingUntil = new ConcurrentHashMap<>();
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final Set<AttemptWorker> active = ConcurrentHashMap.newKeySet();
    private final Map<String, FirstTokenDeadline.Samples> firstTokens = new ConcurrentHashMap<>();
    private volatile double latencyEwmaMillis;
    private volatile long lastStartedMillis;

    Upstream(String name, String tier, int tierIndex, Kind kind, int weight, Provider provider, InstanceHealth health,
             CircuitBreaker<Object> breaker, int consecutiveFailuresToOpen, ModelCircuits modelCircuits) {
        this.modelCircuits = modelCircuits;
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

    /** Active health; empty when the tier's probes are disabled (then it counts as UP: the breaker guards it). */
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

    /** Shut out for {@code model}: the whole upstream's circuit, or that model's. */
    boolean circuitOpen(String model, long nowMillis) {
        return circuitOpen() || modelCircuits.open(model, nowMillis);
    }

    /** Models whose own circuit is open, and for how long yet (ms). */
    Map<String, Long> openModels(long nowMillis) {
        return modelCircuits.openFor(nowMillis);
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
        countAsWorking();
        if (modelCircuits.succeeded(model)) {
            LOG.info(() -> "circuit of " + name + " for model " + model + " is now CLOSED");
        }
        double previous = latencyEwmaMillis;
        latencyEwmaMillis = previous == 0 ? latencyMillis : previous * 0.8 + latencyMillis * 0.2;
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

    /**
     * What a failure says about this upstream. A rate limit only says "later" (a cooldown, see
     * {@link #coolingScope}); errors the provider answered for one model count against that model;
     * transport failures (refused, reset, silent) and a relay's own errors count against the upstream.
     * A timeout while probes find the upstream up ({@code probesVouch}) is that model's: the upstream
     * answers, one model hangs, and probes are what eject an upstream that is silent for everything.
     */
    enum Blame { NONE, MODEL, WHOLE }

    static Blame blame(Kind kind, Failure failure, boolean probesVouch) {
        return switch (failure) {
            case Failure.ClientError ignored -> Blame.NONE;
            case Failure.RateLimited ignored -> Blame.NONE;
            // a provider that answers with an error is up: the error is that model's
            case Failure.Retryable r -> kind == Kind.DIRECT || r.origin() == Origin.PROVIDER ? Blame.MODEL : Blame.WHOLE;
            case Failure.Unavailable u -> u.kind() == Failure.UnavailableKind.MARKED_DOWN ? Blame.NONE
                    : kind == Kind.RELAY && u.origin() == Origin.PROVIDER ? Blame.MODEL
                    : u.kind() == Failure.UnavailableKind.TIMEOUT && probesVouch ? Blame.MODEL : Blame.WHOLE;
        };
    }

    /**
     * What a rate limit cools: the whole upstream when it is a relay limiting us itself (or draining),
     * else only the model it was for. A provider's 429 for one model never blocks its other models.
     */
    static Blame coolingScope(Kind kind, Failure failure) {
        return switch (failure) {
            case Failure.RateLimited r -> kind == Kind.RELAY && r.origin() != Origin.PROVIDER ? Blame.WHOLE : Blame.MODEL;
            case Failure.Unavailable u when u.kind() == Failure.UnavailableKind.MARKED_DOWN -> Blame.WHOLE;
            default -> Blame.NONE;
        };
    }

    /** Records a failed attempt for {@code model} (the model asked of this upstream). */
    void failed(Failure failure, String model, long nowMillis) {
        switch (coolingScope(kind, failure)) {
            case WHOLE -> coolFor(WHOLE_UPSTREAM, failure, nowMillis);
            case MODEL -> coolFor(model, failure, nowMillis);
            case NONE -> { }
        }
        switch (blame(kind, failure, health != null && health.state() == InstanceHealth.State.UP)) {
            case WHOLE -> {
                breaker.recordFailure();
                if (consecutiveFailures.incrementAndGet() >= consecutiveFailuresToOpen && breaker.isClosed()) {
                    breaker.open();
                }
            }
            case MODEL -> {
                countAsWorking();
                if (modelCircuits.failed(model, nowMillis)) {
                    LOG.info(() -> "circuit of " + name + " for model " + model + " is now OPEN");
                }
            }
            case NONE -> {
                if (!(failure instanceof Failure.Unavailable)) {
                    countAsWorking(); // it answered properly (with the client's or a limiter's error): it works
                }
            }
        }
    }

    /** How long a rate limit or a drain keeps calls away: its Retry-After, else a second. */
    static Duration cooldown(Failure failure) {
        return failure instanceof Failure.RateLimited r ? r.retryAfter().orElse(DEFAULT_RATE_LIMIT_COOLDOWN)
                : DRAINING_COOLDOWN;
    }

    private void coolFor(String key, Failure failure, long nowMillis) {
        Duration pause = cooldown(failure);
        if (coolingUntil.size() > 64) {
            coolingUntil.values().removeIf(until -> until <= nowMillis);
        }
        coolingUntil.merge(key, nowMillis + pause.toMillis(), Math::max);
    }

    private void countAsWorking() {
        consecutiveFailures.set(0);
        breaker.recordSuccess();
    }
}
