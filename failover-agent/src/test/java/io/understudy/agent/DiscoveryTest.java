package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdProcess;
import io.understudy.testkit.JavaProcess;
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

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An agent with no relay addresses in its config finds the relays registered in etcd, and lets go of gone ones. */
class DiscoveryTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private List<String> upstreams(AgentServer agent) {
        JsonNode status;
        try {
            status = Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/status"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode tier : status.path("tiers")) {
            for (JsonNode u : tier.path("upstreams")) {
                out.add(tier.path("name").asText() + "/" + u.path("name").asText() + "/" + u.path("health").asText());
            }
        }
        return out;
    }

    /** What a test does with an agent whose relay tiers are filled from etcd, both relays discovered and up. */
    @FunctionalInterface
    private interface WithDiscovered {
        void run(AgentServer agent, String configText, JavaProcess primary, JavaProcess standby) throws Exception;
    }

    private void withDiscoveredRelays(Path dir, WithDiscovered test) throws Exception {
        try (EtcdProcess etcd = new EtcdProcess(dir);
             ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4))) {
            String etcdSection = "etcd:\n  endpoints: [ \"" + etcd.endpoint() + "\" ]\n  cluster: disc\n  lease-ttl: PT2S\n  keep-alive: PT0.5S\n";
            Path relayYaml = dir.resolve("relay.yaml");
            Files.writeString(relayYaml, AgentHarness.relayYaml(sim.baseUrl(), etcdSection));
            String configText = """
                    server: { host: 127.0.0.1, port: 0 }
                    tiers:
                      - { name: primary, kind: relay, discover: true, probe: { interval: PT0.25S, timeout: PT0.3S } }
                      - { name: standby, kind: relay, discover: true, probe: { interval: PT0.25S, timeout: PT0.3S } }
                    %s""".formatted(etcdSection);
            try (JavaProcess primary = JavaProcess.start("primary", dir, "io.understudy.primary.PrimaryMain", List.of(relayYaml.toString()));
                 JavaProcess standby = JavaProcess.start("standby", dir, "io.understudy.standby.StandbyMain", List.of(relayYaml.toString()));
                 AgentServer agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml(configText), Map.<String, String>of()::get))) {
                Await.until("both relays discovered and up", Duration.ofSeconds(20),
                        () -> upstreams(agent).containsAll(List.of("primary/primary-1/up", "standby/standby-1/up")));
                test.run(agent, configText, primary, standby);
            }
        }
    }

    @Test
    void relayTiersAreFilledFromTheRegistry(@TempDir Path dir) throws Exception {
        withDiscoveredRelays(dir, (agent, configText, primary, standby) -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat("m", false, "discovered"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals("primary-1", r.headers().firstValue("x-understudy-upstream").orElseThrow());
            standby.kill();
            Await.until("the gone standby leaves its tier", Duration.ofSeconds(15),
                    () -> upstreams(agent).stream().noneMatch(u -> u.contains("standby-1")));
        });
    }

    /**
     * Regression (found re-reading the reload change): a reload retired the old upstreams before it
     * replayed etcd's discovered relays into the new configuration, so a discovered relay moved over
     * without its probe and its health froze. Probes must still find a relay that dies after a reload,
     * well before its registration expires (three lease TTLs, 6 s here).
     */
    @Test
    void aDiscoveredRelayIsStillProbedAfterAReload(@TempDir Path dir) throws Exception {
        withDiscoveredRelays(dir, (agent, configText, primary, standby) -> {
            agent.reconfigure(AgentConfig.from(AgentHarness.yaml(configText + "agent: { max-attempts: 5 }\n"),
                    Map.<String, String>of()::get));
            assertEquals(List.of("primary/primary-1/up", "standby/standby-1/up"), upstreams(agent), "both moved over");
            standby.kill();
            Await.until("probes mark the killed standby down", Duration.ofSeconds(4),
                    () -> upstreams(agent).contains("standby/standby-1/down"));
        });
    }
}
