package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.understudy.core.Json;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayServer;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.TcpProxy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * provider-sim, a primary and a standby relay (each behind a {@link TcpProxy} that tests can break),
 * and an agent in front: all on free loopback ports, all closed after the tests.
 */
final class AgentHarness implements AutoCloseable {
    /** The primary relay routes a few models to faults that only it has. */
    static final String PRIMARY_ROUTES = """
              - model: limited
                targets: [ { provider: sim, model: sim-429-retry-after } ]
              - model: prefill-test
                targets: [ { provider: sim, model: sim-cut } ]
              - model: primary-fails
                targets: [ { provider: sim, model: sim-503 } ]
            """;
    /**
     * The standby serves those models healthily, or rejects prefill where a test needs that; it
     * serves recover-tail under another model name, so a resumed stream's tail can be told apart.
     */
    static final String STANDBY_ROUTES = """
              - model: recover-tail
                targets: [ { provider: sim, model: recover-tail-on-standby } ]
              - model: limited
                targets: [ { provider: sim, model: after-limit } ]
              - model: prefill-test
                targets: [ { provider: sim, model: sim-prefill-rejected } ]
            """;

    final ProviderSim sim;
    final RelayServer primary;
    final RelayServer standby;
    final TcpProxy primaryProxy;
    final TcpProxy standbyProxy;
    final AgentServer agent;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Tuning tuning;

    /**
     * The knobs that tests change, on the agent and on both relays alike (both run the same failover
     * engine). {@code reservePerSecond}: the retry budgets' reserve (the functional tests share one
     * agent and fail on purpose again and again, so they keep it high and do not starve each other).
     * {@code breakerFailures}: failures in a row that open a circuit (an upstream's, or one model's).
     * {@code openFor}: how long a circuit stays open. {@code streamIdle}: the longest gap between a
     * stream's chunks, on every tier. {@code relayRetries}: the relays' same-provider retries of a
     * transient 5xx (1, as shipped).
     */
    record Tuning(int reservePerSecond, int breakerFailures, Duration openFor, Duration streamIdle, int relayRetries,
                  Duration probeTimeout) {
        static final Tuning FUNCTIONAL = new Tuning(1_000, 3, Duration.ofSeconds(1), Duration.ofSeconds(1), 1, Duration.ofMillis(300));

        Tuning withReservePerSecond(int n) {
            return new Tuning(n, breakerFailures, openFor, streamIdle, relayRetries, probeTimeout);
        }

        Tuning withBreakerFailures(int n) {
            return new Tuning(reservePerSecond, n, openFor, streamIdle, relayRetries, probeTimeout);
        }

        Tuning withOpenFor(Duration d) {
            return new Tuning(reservePerSecond, breakerFailures, d, streamIdle, relayRetries, probeTimeout);
        }

        Tuning withStreamIdle(Duration d) {
            return new Tuning(reservePerSecond, breakerFailures, openFor, d, relayRetries, probeTimeout);
        }

        Tuning withRelayRetries(int n) {
            return new Tuning(reservePerSecond, breakerFailures, openFor, streamIdle, n, probeTimeout);
        }

        Tuning withProbeTimeout(Duration d) {
            return new Tuning(reservePerSecond, breakerFailures, openFor, streamIdle, relayRetries, d);
        }
    }

    AgentHarness(SimConfig simConfig, String agentExtra) throws IOException {
        this(simConfig, agentExtra, Tuning.FUNCTIONAL);
    }

    AgentHarness(SimConfig simConfig, String agentExtra, Tuning tuning) throws IOException {
        this(simConfig, agentExtra, tuning, Map.of());
    }

    /** {@code env}: the environment all three processes read their config with (OTEL_* settings, say). */
    AgentHarness(SimConfig simConfig, String agentExtra, Tuning tuning, Map<String, String> env) throws IOException {
        this.tuning = tuning;
        sim = ProviderSim.start(simConfig);
        // two relays without etcd: leadership plays no part, both run as the primary role their config names
        primary = RelayServer.start(relayConfig(PRIMARY_ROUTES, env), new io.understudy.primary.PrimaryRole());
        standby = RelayServer.start(relayConfig(STANDBY_ROUTES, env), new io.understudy.primary.PrimaryRole());
        primaryProxy = new TcpProxy(primary.port());
        standbyProxy = new TcpProxy(standby.port());
        agent = AgentServer.start(AgentConfig.from(yaml(agentYaml(agentExtra)), env::get));
    }

    /** Streams of 40 tokens 100 ms apart (4 s each): long enough to break one mid-way, on purpose. */
    static AgentHarness withSlowStreams(Tuning tuning) throws IOException {
        return new AgentHarness(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(100), 40), "", tuning);
    }

    static AgentHarness standard() throws IOException {
        return new AgentHarness(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(5), 8), "");
    }

    private RelayConfig relayConfig(String extraRoutes, Map<String, String> env) {
        return RelayConfig.from(yaml("""
                server: { host: 127.0.0.1, port: 0 }
                relay:
                  retry-budget: { reserve-per-second: %d }
                  circuit-breaker: { consecutive-failures: %d, open-for: %s, successes-to-close: 1 }
                  retries: { same-upstream: %d }
                providers:
                  - { name: sim, kind: openai, base-url: "%5$s/v1", read-timeout: PT2S }
                  - { name: sim-anthropic, kind: anthropic, base-url: "%5$s", read-timeout: PT2S }
                routes:
                %6$s
                  - model: "claude-*"
                    targets: [ { provider: sim-anthropic } ]
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 1, output-per-million: 2 }
                  - { provider: sim-anthropic, model: "*", input-per-million: 1, output-per-million: 2 }
                """.formatted(tuning.reservePerSecond(), tuning.breakerFailures(), tuning.openFor(), tuning.relayRetries(),
                sim.baseUrl(), extraRoutes)), env::get);
    }

    String agentYaml(String extra) {
        return """
                server: { host: 127.0.0.1, port: 0 }
                agent:
                  request-timeout: PT20S
                  admin-token-env: UNDERSTUDY_ADMIN_TOKEN
                  max-retry-after-wait: PT2S
                  retry-budget: { ratio: 0.2, reserve-per-second: %d, window: PT10S }
                  circuit-breaker: { consecutive-failures: %d, open-for: %s, successes-to-close: 1 }
                tiers:
                  - name: primary
                    kind: relay
                    probe: { interval: PT0.2S, timeout: %9$s, fall: 2, rise: 2 }
                    timeouts: { connect: PT0.5S, first-token: PT2S, idle: %8$s, response: PT4S }
                    instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                  - name: standby
                    kind: relay
                    probe: { interval: PT0.2S, timeout: %9$s, fall: 2, rise: 2 }
                    timeouts: { connect: PT0.5S, first-token: PT2S, idle: %8$s, response: PT4S }
                    instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                  - name: direct
                    kind: direct
                    timeouts: { connect: PT0.5S, first-token: PT2S, idle: %8$s, response: PT4S }
                providers:
                  - { name: sim, kind: openai, base-url: "%6$s/v1", read-timeout: PT5S }
                  - { name: sim-anthropic, kind: anthropic, base-url: "%6$s", read-timeout: PT5S }
                routes:
                  - model: "claude-*"
                    targets: [ { provider: sim-anthropic } ]
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 1, output-per-million: 2 }
                  - { provider: sim-anthropic, model: "*", input-per-million: 1, output-per-million: 2 }
                  - { provider: sim, model: "cheap-*", input-per-million: 1, output-per-million: 1 }
                  - { provider: sim, model: "premium-*", input-per-million: 30, output-per-million: 60 }
                models:
                  - model: "recover-*"
                    prefill: true
                  - model: "prefill-test"
                    prefill: true
                  - model: "sim-*"
                    prefill: false
                  - model: "sim-503"
                    fallbacks: [ "premium-model" ]
                  - model: "sim-context-length"
                    on-context-length: [ "bigger-context" ]
                %7$s
                """.formatted(tuning.reservePerSecond(), tuning.breakerFailures(), tuning.openFor(), primaryProxy.port(), standbyProxy.port(), sim.baseUrl(), extra, tuning.streamIdle(), tuning.probeTimeout());
    }

    /** A relay config that routes every model to provider-sim; {@code extra} is appended (an etcd section). */
    static String relayYaml(String simBaseUrl, String extra) {
        return io.understudy.testkit.Topologies.relayOnSim(simBaseUrl, "sim", extra);
    }

    static Config yaml(String text) {
        return Config.just(ConfigSources.create(text, MediaTypes.APPLICATION_X_YAML));
    }

    String base() {
        return "http://127.0.0.1:" + agent.port();
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** {@code headers}: name, value, name, value... */
    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10)).GET();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String model, boolean stream, String content) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    }

    JsonNode status() {
        try {
            return Json.parse(get("/status").body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The upstream's entry in /status. */
    JsonNode upstream(String name) {
        for (JsonNode tier : status().path("tiers")) {
            for (JsonNode u : tier.path("upstreams")) {
                if (u.path("name").asText().equals(name)) {
                    return u;
                }
            }
        }
        throw new IllegalArgumentException("no upstream " + name);
    }

    void awaitHealth(String upstream, String health) {
        Await.until(upstream + " " + health, Duration.ofSeconds(10),
                () -> upstream(upstream).path("health").asText().equals(health));
    }

    /** Both proxies forwarding, both relays up, no circuit open, attempt log empty. */
    void reset() {
        primaryProxy.mode(TcpProxy.Mode.PASS);
        standbyProxy.mode(TcpProxy.Mode.PASS);
        awaitHealth("primary-1", "up");
        awaitHealth("standby-1", "up");
        Await.until("no open circuit", Duration.ofSeconds(10), () -> {
            for (JsonNode tier : status().path("tiers")) {
                for (JsonNode u : tier.path("upstreams")) {
                    if (u.path("circuit").asText().equals("open")) {
                        return false;
                    }
                }
            }
            return true;
        });
        Await.until("no cooldowns, no model circuit open", Duration.ofSeconds(10), () -> {
            JsonNode status = status();
            for (JsonNode tier : status.path("tiers")) {
                for (JsonNode u : tier.path("upstreams")) {
                    if (!u.path("rate_limited_for_ms").isEmpty() || !u.path("model_circuit_open_for_ms").isEmpty()) {
                        return false;
                    }
                }
            }
            return status.path("provider_rate_limited_for_ms").isEmpty();
        });
        sim.attempts().clear();
    }

    int simAttempts() {
        return sim.attempts().toJson().path("attempts").size();
    }

    /** The deterministic answer for a conversation, straight from provider-sim. */
    String expectedText(String content) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chat("any", false, content))).build(), HttpResponse.BodyHandlers.ofString());
        return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    @Override
    public void close() {
        agent.close();
        primaryProxy.close();
        standbyProxy.close();
        primary.close();
        standby.close();
        sim.close();
    }
}
