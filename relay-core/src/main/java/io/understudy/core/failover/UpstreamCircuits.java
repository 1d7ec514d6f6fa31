package io.understudy.core.failover;

import dev.failsafe.CircuitBreaker;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The passive half of one upstream's state, the same for the agent's relays and providers and for
 * the relay's providers: what its failures say about it. One circuit for the whole upstream
 * (Failsafe: opens on consecutive failures or a failure rate, half-opens after {@code open-for}),
 * one per failing model ({@link ModelCircuits}), and Retry-After cooldowns for the whole upstream or
 * for one model. Which of them a failure acts on is decided by {@link #blame} and
 * {@link #coolingScope}, pure functions of what failed and how.
 */
public final class UpstreamCircuits {
    /** A relay (its own errors are the whole relay's) or a provider (called directly: errors are a model's). */
    public enum Kind { RELAY, DIRECT }

    /** What a failure counts against. */
    public enum Blame { NONE, MODEL, WHOLE }

    /** Hears a whole upstream's circuit change state. */
    @FunctionalInterface
    public interface Listener {
        void changed(String upstream, CircuitBreaker.State state);
    }

    private static final Logger LOG = Logger.getLogger(UpstreamCircuits.class.getName());
    private static final String WHOLE_UPSTREAM = "";
    private static final Duration DEFAULT_RATE_LIMIT_COOLDOWN = Duration.ofSeconds(1);
    private static final Duration DRAINING_COOLDOWN = Duration.ofSeconds(1);

    private final String name;
    private final Kind kind;
    private final CircuitBreaker<Object> breaker;
    private final int consecutiveFailuresToOpen;
    private final ModelCircuits modelCircuits;
    private final Map<String, Long> coolingUntil = new ConcurrentHashMap<>();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();

    public UpstreamCircuits(String name, Kind kind, FailoverSettings.Breaker settings, Listener listener) {
        this.name = name;
        this.kind = kind;
        this.breaker = CircuitBreaker.builder()
                .withFailureRateThreshold(settings.failureRatePercent(), settings.minimumCalls(), settings.period())
                .withDelay(settings.openFor())
                .withSuccessThreshold(settings.successesToClose())
                .onOpen(e -> listener.changed(name, CircuitBreaker.State.OPEN))
                .onHalfOpen(e -> listener.changed(name, CircuitBreaker.State.HALF_OPEN))
                .onClose(e -> listener.changed(name, CircuitBreaker.State.CLOSED))
                .build();
        this.consecutiveFailuresToOpen = settings.consecutiveFailures();
        this.modelCircuits = new ModelCircuits(settings.consecutiveFailures(), settings.openFor().toMillis());
    }

    public Kind kind() {
        return kind;
    }

    /** The whole upstream's circuit: permits for calls, half-open on recovery. */
    public CircuitBreaker<Object> breaker() {
        return breaker;
    }

    /**
     * Open and still inside its delay. Failsafe moves an open breaker to half-open only when a permit
     * is asked for, so once the delay has passed the upstream must be offered for a trial call.
     */
    public boolean circuitOpen() {
        return breaker.isOpen() && breaker.getRemainingDelay().toMillis() > 0;
    }

    /** Shut out for {@code model}: the whole upstream's circuit, or that model's. */
    public boolean circuitOpen(String model, long nowMillis) {
        return circuitOpen() || modelCircuits.open(model, nowMillis);
    }

    /** Models whose own circuit is open, and for how long yet (ms). */
    public Map<String, Long> openModels(long nowMillis) {
        return modelCircuits.openFor(nowMillis);
    }

    /** closed, open, half_open, or open_ready (delay over: the next call is a trial). */
    public String circuitState() {
        return switch (breaker.getState()) {
            case CLOSED -> "closed";
            case HALF_OPEN -> "half_open";
            case OPEN -> circuitOpen() ? "open" : "open_ready";
        };
    }

    /** When this upstream may be called again for {@code model} (Retry-After), epoch millis. */
    public long coolingUntil(String model) {
        return Math.max(coolingUntil.getOrDefault(WHOLE_UPSTREAM, 0L), coolingUntil.getOrDefault(model, 0L));
    }

    public Map<String, Long> cooldowns() {
        return Map.copyOf(coolingUntil);
    }

    /** A call for {@code model} succeeded. */
    public void succeeded(String model) {
        countAsWorking();
        if (modelCircuits.succeeded(model)) {
            LOG.info(() -> "circuit of " + name + " for model " + model + " is now CLOSED");
        }
    }

    /**
     * Records a failed call for {@code model} (the model asked of this upstream). {@code probesVouch}:
     * health checks find the upstream up right now.
     */
    public void failed(Failure failure, String model, long nowMillis, boolean probesVouch) {
        switch (coolingScope(kind, failure)) {
            case WHOLE -> coolFor(WHOLE_UPSTREAM, failure, nowMillis);
            case MODEL -> coolFor(model, failure, nowMillis);
            case NONE -> { }
        }
        switch (blame(kind, failure, probesVouch)) {
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

    /**
     * What a failure says about an upstream. A rate limit only says "later" (a cooldown, see
     * {@link #coolingScope}); errors the provider answered for one model count against that model;
     * transport failures (refused, reset, silent) and a relay's own errors count against the upstream.
     * A timeout while probes find the upstream up ({@code probesVouch}) is that model's: the upstream
     * answers, one model hangs, and probes are what eject an upstream that is silent for everything.
     */
    public static Blame blame(Kind kind, Failure failure, boolean probesVouch) {
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
    public static Blame coolingScope(Kind kind, Failure failure) {
        return switch (failure) {
            case Failure.RateLimited r -> kind == Kind.RELAY && r.origin() != Origin.PROVIDER ? Blame.WHOLE : Blame.MODEL;
            case Failure.Unavailable u when u.kind() == Failure.UnavailableKind.MARKED_DOWN -> Blame.WHOLE;
            default -> Blame.NONE;
        };
    }

    /** How long a rate limit or a drain keeps calls away: its Retry-After, else a second. */
    public static Duration cooldown(Failure failure) {
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
