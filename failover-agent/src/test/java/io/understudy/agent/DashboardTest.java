package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayServer;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdProcess;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Grafana dashboard in deploy/grafana names only metrics the code exports: an agent in front of
 * a relay leading in a real etcd, driven through what the panels show (answers, streams, a failover
 * to the direct tier, a resumed stream, a compliance refusal, a relay marked down), then scraped.
 * A metric renamed in code, or a typo in a query, fails here rather than as an empty panel.
 */
class DashboardTest {
    private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "understudy.json");
    private static final Pattern METRIC = Pattern.compile("\\bunderstudy_[a-z0-9_]+");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void everyQueryNamesAMetricTheAgentOrTheRelayExports() throws Exception {
        JsonNode dashboard = Json.parse(Files.readString(DASHBOARD));
        List<String> queries = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            assertFalse(panel.path("title").asText().isBlank(), "every panel has a title");
            assertFalse(panel.path("targets").isEmpty(), panel.path("title").asText() + " has queries");
            panel.path("targets").forEach(t -> queries.add(t.path("expr").asText()));
        }
        TreeSet<String> named = new TreeSet<>();
        for (String q : queries) {
            Matcher m = METRIC.matcher(q);
            boolean any = false;
            while (m.find()) {
                named.add(m.group());
                any = true;
            }
            assertTrue(any, "query names an Understudy metric: " + q);
        }

        String exported;
        try (EtcdProcess etcd = new EtcdProcess(dir);
             ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(5), 8))) {
            String etcdSection = """
                    etcd:
                      endpoints: [ "%s" ]
                      cluster: dashboard
                      lease-ttl: PT2S
                      keep-alive: PT0.5S
                    """.formatted(etcd.endpoint());
            try (RelayServer relay = RelayServer.start(RelayConfig.from(AgentHarness.yaml("""
                    server: { host: 127.0.0.1, port: 0 }
                    providers:
                      - { name: sim, kind: openai, base-url: "%s/v1", read-timeout: PT5S }
                    routes:
                      - model: "down-*"
                        targets: [ { provider: sim, model: sim-503 } ]
                      - model: "cut-*"
                        targets: [ { provider: sim, model: sim-cut } ]
                      - model: "*"
                        targets: [ { provider: sim } ]
                    prices:
                      - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.60 }
                    %s""".formatted(sim.baseUrl(), etcdSection)), Map.<String, String>of()::get), new io.understudy.primary.PrimaryRole());
                 TcpProxy toRelay = new TcpProxy(relay.port());
                 AgentServer agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml("""
                        server: { host: 127.0.0.1, port: 0 }
                        tiers:
                          - name: primary
                            kind: relay
                            probe: { interval: PT0.25S, timeout: PT0.3S }
                            instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                          - name: direct
                            kind: direct
                        providers:
                          - { name: sim, kind: openai, base-url: "%s/v1" }
                        routes:
                          - model: "*"
                            targets: [ { provider: sim } ]
                        prices:
                          - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.60 }
                        models:
                          - model: "*"
                            prefill: true
                        %s""".formatted(toRelay.port(), sim.baseUrl(), etcdSection)), Map.<String, String>of()::get))) {
                String base = "http://127.0.0.1:" + agent.port();
                Await.until("the agent follows the relay's leadership", Duration.ofSeconds(15),
                        () -> get(base + "/metrics").lines().anyMatch(l -> l.startsWith("understudy_agent_leader_epoch") && !l.endsWith(" 0.0")));
                assertEquals(200, chat(base, "gpt-4o-mini", false, Map.of()).statusCode());
                assertEquals(200, chat(base, "gpt-4o-mini", true, Map.of()).statusCode());
                assertEquals(200, chat(base, "down-1", false, Map.of()).statusCode(), "the relay's provider fails: the direct tier serves");
                assertEquals(200, chat(base, "cut-1", true, Map.of()).statusCode(), "a cut stream is resumed");
                assertEquals(422, chat(base, "gpt-4o-mini", false, Map.of("x-understudy-require", "region=eu")).statusCode());
                toRelay.mode(TcpProxy.Mode.REFUSE);
                Await.until("the agent marks the unreachable relay down", Duration.ofSeconds(10),
                        () -> get(base + "/metrics").contains("understudy_agent_moved_at_mark_down_total"));
                exported = get("http://127.0.0.1:" + relay.port() + "/metrics") + "\n" + get(base + "/metrics");
            }
        }
        List<String> missing = new ArrayList<>();
        for (String name : named) {
            if (exported.lines().noneMatch(l -> l.startsWith(name + "{") || l.startsWith(name + " "))) {
                missing.add(name);
            }
        }
        assertEquals(List.of(), missing, "metrics the dashboard queries but nothing exports");
    }

    private HttpResponse<String> chat(String base, String model, boolean stream, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions")).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
                        + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"dashboard\"}]}"));
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String get(String url) {
        return ChatClient.get(http, url);
    }
}
