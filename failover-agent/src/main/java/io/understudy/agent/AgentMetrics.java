package io.understudy.agent;

import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.RetryBudget;
import io.understudy.core.failover.RetryBudgetMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * Every agent metric, named here once. Tags are bounded: tier, upstream, outcome, reason,
 * provider and model; never paths, prompts or client addresses.
 */
final class AgentMetrics {
    static final String REQUESTS = "understudy.agent.requests";
    static final String REQUEST_DURATION = "understudy.agent.request.duration";
    static final String TIME_TO_FIRST_TOKEN = "understudy.agent.time.to.first.token";
    static final String ATTEMPTS = "understudy.agent.attempts";
    static final String FAILOVERS = "understudy.agent.failovers";
    static final String CIRCUIT_STATE = "understudy.agent.circuit.state";
    static final String HEALTH_STATE = "understudy.agent.health.state";
    static final String HEALTH_TRANSITIONS = "understudy.agent.health.transitions";
    static final String MOVED_AT_VERDICT = "understudy.agent.moved.at.mark.down";
    static final String BUSY_PROBES = "understudy.agent.health.busy.probes";
    static final String STREAM_RECOVERIES = "understudy.agent.stream.recoveries";
    static final String FIRST_TOKEN_WAITS = "understudy.agent.first.token.waits";
    static final String TOKENS = "understudy.agent.tokens";
    static final String COST = "understudy.agent.cost.usd";
    static final String PASS_THROUGH = "understudy.agent.pass.through";
    static final String LEADER_EPOCH = "understudy.agent.leader.epoch";
    static final String REQUIREMENT_REFUSALS = "understudy.agent.requirement.refusals";
    static final String REFUSED_OVER_LIMIT = "understudy.agent.refused.over.limit";
    static final String IN_FLIGHT = "understudy.agent.requests.in.flight";
    static final String IN_FLIGHT_LIMIT = "understudy.agent.requests.in.flight.limit";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final io.understudy.core.GenAiMetrics genAi = new io.understudy.core.GenAiMetrics(registry);

    /** The OpenTelemetry GenAI client metrics of the agent's requests, by the upstream that served them. */
    io.understudy.core.GenAiMetrics genAi() {
        return genAi;
    }

    void request(String tier, String outcome, Duration duration) {
        Counter.builder(REQUESTS).tag("tier", tier).tag("outcome", outcome).register(registry).increment();
        Timer.builder(REQUEST_DURATION).tag("tier", tier).publishPercentileHistogram().register(registry).record(duration);
    }

    void timeToFirstToken(String tier, Duration ttft) {
        Timer.builder(TIME_TO_FIRST_TOKEN).tag("tier", tier).publishPercentileHistogram().register(registry).record(ttft);
    }

    /** A call passed through as it is (audio, images, moderations...), by who answered and its status class. */
    /**
     * Compliance: {@code unconfirmed}, a relay's answer dropped because the relay did not confirm it
     * enforced the request's requirement; {@code refused}, a request ended with 422 because nothing
     * meeting its requirement could serve it.
     */
    void requirementRefusal(String upstream, String reason) {
        Counter.builder(REQUIREMENT_REFUSALS).tag("upstream", upstream).tag("reason", reason).register(registry).increment();
    }

    void passThrough(String upstream, int status) {
        Counter.builder(PASS_THROUGH).tag("upstream", upstream).tag("status", (status / 100) + "xx").register(registry).increment();
    }

    void attempt(String upstream, String outcome) {
        Counter.builder(ATTEMPTS).tag("upstream", upstream).tag("outcome", outcome).register(registry).increment();
    }

    /** {@code move}: retry (spent budget) or redirect (off an upstream out of rotation: free). */
    void failover(String from, String to, String reason, FailoverPolicy.Move move) {
        Counter.builder(FAILOVERS).tag("from", from).tag("to", to).tag("reason", reason)
                .tag("move", move.name().toLowerCase(java.util.Locale.ROOT)).register(registry).increment();
    }

    void streamRecovery(String mode, String outcome) {
        Counter.builder(STREAM_RECOVERIES).tag("mode", mode).tag("outcome", outcome).register(registry).increment();
    }

    /** A first-token wait that passed: cut (adaptive or ceiling), or extended because the model was busy. */
    void firstTokenWait(String upstream, String verdict) {
        Counter.builder(FIRST_TOKEN_WAITS).tag("upstream", upstream).tag("verdict", verdict).register(registry).increment();
    }

    void healthTransition(String upstream, String from, String to) {
        Counter.builder(HEALTH_TRANSITIONS).tag("upstream", upstream).tag("from", from).tag("to", to)
                .register(registry).increment();
    }

    /**
     * Attempts in flight moved off an upstream the moment probes marked it down: {@code reissued} (nothing
     * sent to the client yet) or {@code resumed} (a stream that fell silent with it).
     */
    void movedAtMarkDown(String upstream, String how, int n) {
        Counter.builder(MOVED_AT_VERDICT).tag("upstream", upstream).tag("how", how).register(registry).increment(n);
    }

    void usage(String tier, String provider, String model, Usage usage, BigDecimal cost) {
        Counter.builder(TOKENS).tag("tier", tier).tag("provider", provider).tag("model", model).tag("direction", "input")
                .register(registry).increment(usage.promptTokens());
        Counter.builder(TOKENS).tag("tier", tier).tag("provider", provider).tag("model", model).tag("direction", "output")
                .register(registry).increment(usage.completionTokens());
        if (cost != null) {
            Counter.builder(COST).tag("tier", tier).tag("provider", provider).tag("model", model).register(registry)
                    .increment(cost.doubleValue());
        }
    }

    /** Requests answered 503 because the agent was serving its limit at once. */
    void refusedOverLimit() {
        Counter.builder(REFUSED_OVER_LIMIT).register(registry).increment();
    }

    /** Requests being served now, and the limit past which they are refused. */
    void watchAdmission(io.understudy.core.server.Admission admission) {
        Gauge.builder(IN_FLIGHT, admission, io.understudy.core.server.Admission::inFlight).register(registry);
        Gauge.builder(IN_FLIGHT_LIMIT, admission, io.understudy.core.server.Admission::limit).register(registry);
    }

    /** The leader epoch this agent follows (the leader key's revision in etcd; 0 before it has seen one). */
    void watchLeader(LeaderView view) {
        Gauge.builder(LEADER_EPOCH, view, v -> v.leader().map(LeaderView.Leader::epoch).orElse(0L)).register(registry);
    }

    /** Gauges read live state: 0 closed / 1 half-open / 2 open; health 0 up, 1 unknown, 2 suspect, 3 down. */
    void watchUpstream(Upstream u) {
        Gauge.builder(CIRCUIT_STATE, u, x -> switch (x.breaker().getState()) {
            case CLOSED -> 0;
            case HALF_OPEN -> 1;
            case OPEN -> 2;
        }).tag("upstream", u.name()).register(registry);
        u.health().ifPresent(h -> FunctionCounter.builder(BUSY_PROBES, h, InstanceHealth::busyProbes)
                .description("probe timeouts that were no verdict: the upstream was answering requests, or this host was starved")
                .tag("upstream", u.name()).register(registry));
        Gauge.builder(HEALTH_STATE, u, x -> switch (x.healthState()) {
            case UP -> 0;
            case UNKNOWN -> 1;
            case SUSPECT -> 2;
            case DOWN -> 3;
        }).tag("upstream", u.name()).register(registry);
    }

    /** Drops the gauges of an upstream a reload replaced or removed (they would read the old one). */
    void unwatchUpstream(String name) {
        for (String meter : java.util.List.of(CIRCUIT_STATE, BUSY_PROBES, HEALTH_STATE)) {
            registry.find(meter).tag("upstream", name).meters().forEach(registry::remove);
        }
    }

    /** {@code understudy_agent_config_reloads_total} and {@code understudy_agent_config_generation}. */
    void watchReloads(io.understudy.core.config.ConfigReloads<?> reloads) {
        reloads.bindTo(registry, "understudy.agent");
    }

    /** Totals since start, as Prometheus counters; the window's retries and allowance as gauges. */
    /** Meters and log lines of latency SLOs: {@code understudy_agent_slo_*}. */
    io.understudy.core.routing.SloMetrics slos(java.util.logging.Logger log) {
        return new io.understudy.core.routing.SloMetrics(registry, "understudy.agent", log);
    }

    void watchBudget(RetryBudget budget) {
        new RetryBudgetMetrics("understudy.agent", budget).bindTo(registry);
    }

    String scrape() {
        return registry.scrape();
    }
}
