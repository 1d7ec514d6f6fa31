package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterOps;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdCluster;
import io.understudy.testkit.JavaProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fleet: a 3-member etcd cluster, both relays and three agents, each a separate process.
 * Losing one etcd member changes nothing; a promotion moves all three agents within 200 ms.
 */
class FleetTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private JsonNode status(JavaProcess agent) {
        try {
            return Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private int chat(JavaProcess agent, String content) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat("m", false, content))).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void losingAnEtcdMemberChangesNothingAndAPromotionMovesEveryAgentWithin200ms(@TempDir Path dir) throws Exception {
        List<JavaProcess> processes = new ArrayList<>();
        try (EtcdCluster etcdCluster = new EtcdCluster(dir, 3);
             ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4))) {
            String endpoints = String.join("\", \"", etcdCluster.endpoints());
            String etcdSection = "etcd:\n  endpoints: [ \"" + endpoints + "\" ]\n  cluster: fleet\n  lease-ttl: PT5S\n";
            Path relayYaml = dir.resolve("relay.yaml");
            Files.writeString(relayYaml, AgentHarness.relayYaml(sim.baseUrl(), etcdSection));
            JavaProcess primary = JavaProcess.start("primary", dir, "io.understudy.primary.PrimaryMain", List.of(relayYaml.toString()));
            processes.add(primary);
            JavaProcess standby = JavaProcess.start("standby", dir, "io.understudy.standby.StandbyMain", List.of(relayYaml.toString()));
            processes.add(standby);
            Path agentYaml = dir.resolve("agent.yaml");
            Files.writeString(agentYaml, io.understudy.testkit.Topologies.agentOnRelays(primary.port(), standby.port(), "",
                    etcdSection));
            List<JavaProcess> agents = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                JavaProcess agent = JavaProcess.start("agent-" + i, dir, "io.understudy.agent.AgentMain",
                        List.of(agentYaml.toString()), "-Xmx128m");
                processes.add(agent);
                agents.add(agent);
            }
            try (Etcd etcd = new Etcd(new EtcdSettings(etcdCluster.endpoints().stream().map(URI::create).toList(), "fleet",
                    Optional.empty(), Optional.empty(), Optional.empty(), Duration.ofSeconds(5), Duration.ofSeconds(1),
                    Duration.ofSeconds(1)))) {
                ClusterState cluster = new ClusterState(etcd);
                Await.until("primary leads and every agent follows", Duration.ofSeconds(20), () ->
                        cluster.leader().map(l -> l.instance().equals("primary-1")).orElse(false)
                                && agents.stream().allMatch(a -> status(a).path("leader").path("instance").asText().equals("primary-1")));
                Await.until("both relays registered", Duration.ofSeconds(10), () -> cluster.registered("members").size() == 2);
                long epoch = cluster.leader().orElseThrow().epoch();

                // 1. one etcd member killed: same leader, same epoch, every request answered
                etcdCluster.kill(0);
                long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                int n = 0;
                while (System.nanoTime() < until) {
                    for (JavaProcess agent : agents) {
                        assertEquals(200, chat(agent, "member loss " + n++), "traffic unaffected by the member loss");
                    }
                }
                assertEquals(epoch, cluster.leader().orElseThrow().epoch(), "leadership unaffected by the member loss");

                // 2. a promotion: every agent switches within 200 ms of etcd
                ClusterOps.Result result = new ClusterOps(cluster, Clock.systemUTC())
                        .moveLeadership("promote", "standby", "fleet test", "tester", false, Duration.ofSeconds(20));
                assertInstanceOf(ClusterOps.Done.class, result, result.message());
                long newEpoch = ((ClusterOps.Done) result).leader().epoch();
                Await.until("every agent follows standby-1", Duration.ofSeconds(5), () ->
                        agents.stream().allMatch(a -> status(a).path("leader").path("epoch").asLong() == newEpoch));
                // learnt_at is each agent's own clock on this machine; the history entry is written by the winner
                JsonNode entry = Await.value("the history entry of the promotion", Duration.ofSeconds(5), () ->
                        cluster.history().stream().filter(h -> h.path("epoch").asLong() == newEpoch).findFirst().orElse(null));
                long won = java.time.Instant.parse(entry.path("time").asText()).toEpochMilli();
                for (JavaProcess agent : agents) {
                    long learnt = java.time.Instant.parse(status(agent).path("leader").path("learnt_at").asText()).toEpochMilli();
                    assertTrue(learnt - won <= 200, agent.name() + " followed " + (learnt - won) + " ms after the new leader won");
                }
            }
        } finally {
            for (JavaProcess p : processes) {
                try { // what leadership did, kept in the surefire report for a failed run
                    System.out.println("---- " + p.name() + ":\n" + String.join("\n", Files.readAllLines(p.log()).stream()
                            .filter(l -> l.contains("leader") || l.contains("etcd")).limit(20).toList()));
                } catch (java.io.IOException ignored) {
                    // no log
                }
            }
            processes.forEach(JavaProcess::close);
        }
    }
}
