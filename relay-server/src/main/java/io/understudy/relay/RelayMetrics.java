package io.understudy.relay;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every relay metric, named here once. Tags are bounded: endpoint, outcome, provider, model
 * (from configuration and provider answers), never paths, prompts or client addresses.
 */
final class RelayMetrics {
    static final String REQUESTS = "understudy.relay.requests";
    static final String REQUEST_DURATION = "understudy.relay.request.duration";
    static final String UPSTREAM_ATTEMPTS = "understudy.relay.upstream.attempts";
    static final String FALLBACKS = "understudy.relay.fallbacks";
    static final String TIME_TO_FIRST_TOKEN = "understudy.relay.time.to.first.token";
    static final String TOKENS = "understudy.relay.tokens";
    static final String COST = "understudy.relay.cost.usd";
    static final String ACTIVE_STREAMS = "understudy.relay.streams.active";
    static final String LEADERSHIP_TRANSITIONS = "understudy.leadership.transitions";
    static final String REQUIREMENT_REFUSALS = "understudy.relay.requirement.refusals";
    static final String REFUSED_OVER_LIMIT = "understudy.relay.refused.over.limit";
    static final String IN_FLIGHT = "understudy.relay.requests.in.flight";
    static final String IN_FLIGHT_LIMIT = "understudy.relay.requests.in.flight.limit";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger activeStreams = new AtomicInteger();
    private final io.understudy.core.GenAiMetrics genAi = new io.understudy.core.GenAiMetrics(registry);

    RelayMetrics(String role) {
        registry.config().commonTags("role", role);
        registry.gauge(ACTIVE_STREAMS, activeStreams);
    }

    /** The OpenTelemetry GenAI client metrics of the relay's provider calls. */
    io.understudy.core.GenAiMetrics genAi() {
        return genAi;
    }

    /** The retry budget of the relay's provider failover: {@code understudy_relay_retry_budget_*}. */
    void watchBudget(io.understudy.core.failover.RetryBudget budget) {
        new io.understudy.core.failover.RetryBudgetMetrics("understudy.relay", budget).bindTo(registry);
    }

    /** Requests answered 503 because the relay was serving its limit at once. */
    void refusedOverLimit() {
        Counter.builder(REFUSED_OVER_LIMIT).register(registry).increment();
    }

    /** Requests being served now, and the limit past which they are refused. */
    void watchAdmission(io.understudy.core.server.Admission admission) {
        io.micrometer.core.instrument.Gauge.builder(IN_FLIGHT, admission, io.understudy.core.server.Admission::inFlight).register(registry);
        io.micrometer.core.instrument.Gauge.builder(IN_FLIGHT_LIMIT, admission, io.understudy.core.server.Admission::limit).register(registry);
    }

    /** {@code understudy_relay_config_reloads_total} and {@code understudy_relay_config_generation}. */
    void watchReloads(io.understudy.core.config.ConfigReloads<?> reloads) {
        reloads.bindTo(registry, "understudy.relay");
    }

    void request(String endpoint, String outcome, Duration duration) {
        Counter.builder(REQUESTS).tag("endpoint", endpoint).tag("outcome", outcome).register(registry).increment();
        Timer.builder(REQUEST_DURATION).tag("endpoint", endpoint).publishPercentileHistogram()
                .register(registry).record(duration);
    }

    void leadershipTransition(Leadership.State from, Leadership.State to) {
        Counter.builder(LEADERSHIP_TRANSITIONS).tag("from", from.name().toLowerCase(java.util.Locale.ROOT))
                .tag("to", to.name().toLowerCase(java.util.Locale.ROOT)).register(registry).increment();
    }

    void attempt(String provider, String outcome) {
        Counter.builder(UPSTREAM_ATTEMPTS).tag("provider", provider).tag("outcome", outcome).register(registry).increment();
    }

    /** A request refused because no provider meets its x-understudy-require (nothing was sent). */
    void requirementRefused(String endpoint) {
        Counter.builder(REQUIREMENT_REFUSALS).tag("endpoint", endpoint).register(registry).increment();
    }

    void fallback(String fromProvider, String reason) {
        Counter.builder(FALLBACKS).tag("from", fromProvider).tag("reason", reason).register(registry).increment();
    }

    void timeToFirstToken(String provider, Duration ttft) {
        Timer.builder(TIME_TO_FIRST_TOKEN).tag("provider", provider).publishPercentileHistogram()
                .register(registry).record(ttft);
    }

    void usage(String provider, String model, Usage usage, BigDecimal cost) {
        Counter.builder(TOKENS).tag("provider", provider).tag("model", model).tag("direction", "input")
                .register(registry).increment(usage.promptTokens());
        Counter.builder(TOKENS).tag("provider", provider).tag("model", model).tag("direction", "output")
                .register(registry).increment(usage.completionTokens());
        if (cost != null) {
            Counter.builder(COST).tag("provider", provider).tag("model", model).register(registry)
                    .increment(cost.doubleValue());
        }
    }

    void streamOpened() {
        activeStreams.incrementAndGet();
    }

    void streamClosed() {
        activeStreams.decrementAndGet();
    }

    String scrape() {
        return registry.scrape();
    }

    /** Meters and log lines of latency SLOs: {@code understudy_relay_slo_*}. */
    io.understudy.core.routing.SloMetrics slos(java.util.logging.Logger log) {
        return new io.understudy.core.routing.SloMetrics(registry, "understudy.relay", log);
    }
}
