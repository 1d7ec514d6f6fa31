package io.understudy.relay;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A provider-sim and a relay in front of it, both on free loopback ports; closed after the tests. */
final class RelayHarness implements AutoCloseable {
    static final String DEFAULT_YAML = """
            server:
              host: 127.0.0.1
              port: 0
            relay:
              max-body-size: 4096
              fee-percent: 10
            providers:
              - name: sim
                kind: openai
                base-url: ${SIM}/v1
                read-timeout: PT5S
              - name: sim-anthropic
                kind: anthropic
                base-url: ${SIM}
                read-timeout: PT5S
              - name: dead
                kind: openai
                base-url: http://127.0.0.1:${DEAD}/v1
                connect-timeout: PT1S
              - name: sim-chat-only
                kind: openai
                base-url: ${SIM}/v1
                read-timeout: PT5S
                responses-api: false
            routes:
              - model: "chatonly-*"
                targets: [ { provider: sim-chat-only } ]
              - model: "claude-*"
                targets: [ { provider: sim-anthropic } ]
              - model: "fallback-*"
                targets: [ { provider: dead }, { provider: sim, model: fallback-served } ]
              - model: "ratelimited"
                targets: [ { provider: sim, model: sim-429-retry-after }, { provider: sim, model: after-429 } ]
              - model: "strict"
                targets: [ { provider: sim, model: sim-context-length }, { provider: sim } ]
              - model: "all-down"
                targets: [ { provider: sim, model: sim-503 }, { provider: dead } ]
              - model: "reset-then-ok"
                targets: [ { provider: sim, model: sim-reset }, { provider: sim, model: after-reset } ]
              - model: "gpt-4o-mini"
                targets: [ { provider: sim } ]
              - model: "*"
                targets: [ { provider: sim } ]
            prices:
              - provider: sim
                model: "*"
                input-per-million: 0.15
                output-per-million: 0.60
              - provider: sim-anthropic
                model: "*"
                input-per-million: 3
                output-per-million: 15
            """;

    final ProviderSim sim;
    final RelayServer relay;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    RelayHarness(String yaml, Map<String, String> env, SimConfig simConfig) throws IOException {
        this.sim = ProviderSim.start(simConfig);
        String resolved = yaml.replace("${SIM}", sim.baseUrl()).replace("${DEAD}", String.valueOf(freePort()));
        Config config = Config.just(ConfigSources.create(resolved, MediaTypes.APPLICATION_X_YAML));
        RelayServer started;
        try {
            RelayConfig relayConfig = RelayConfig.from(config, env::get);
            started = RelayServer.start(relayConfig, TestRole.of(relayConfig));
        } catch (RuntimeException e) {
            sim.close();
            throw e;
        }
        this.relay = started;
    }

    static RelayHarness standard() throws IOException {
        return new RelayHarness(DEFAULT_YAML, Map.of(),
                SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 8));
    }

    String base() {
        return "http://127.0.0.1:" + relay.port();
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        boolean typed = false;
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
            typed |= headers[i].equalsIgnoreCase("content-type");
        }
        if (!typed) {
            b.header("Content-Type", "application/json");
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20)).GET();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The number of requests provider-sim received since the last {@link #clearAttempts()}. */
    int simAttempts() {
        return sim.attempts().toJson().path("attempts").size();
    }

    void clearAttempts() {
        sim.attempts().clear();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        try {
            relay.close();
        } finally {
            sim.close();
        }
    }
}
