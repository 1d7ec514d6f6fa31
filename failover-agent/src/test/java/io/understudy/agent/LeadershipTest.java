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
import io.understudy.testkit.EtcdGrpcProxy;
import io.understudy.testkit.EtcdProcess;
import io.understudy.testkit.Topologies;
import io.understudy.testkit.JavaProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Leadership in a real etcd; relays as real processes; the agent follows the leader. */
class LeadershipTest {
    private static final Duration TTL = Duration.ofSeconds(2);

    @TempDir
    Path dir;
    private EtcdProcess etcdProcess;
    private ProviderSim sim;
    private JavaProcess primary;
    private JavaProcess standby;
    private AgentServer agent;
    private Etcd etcd;
    private ClusterState cluster;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeEach
    void start() throws Exception {
        etcdProcess = new EtcdProcess(dir);
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(5), 8));
        String etcdSection = etcdSection(etcdProcess.endpoint());
        Path relayYaml = dir.resolve("relay.yaml");
        Files.writeString(relayYaml, AgentHarness.relayYaml(sim.baseUrl(), etcdSection));
        primary = JavaProcess.start("primary", dir, "io.understudy.primary.PrimaryMain", List.of(relayYaml.toString()));
        standby = JavaProcess.start("standby", dir, "io.understudy.standby.StandbyMain", List.of(relayYaml.toString()));
        etcd = new Etcd(new EtcdSettings(List.of(URI.create(etcdProcess.endpoint())), "test", Optional.empty(), Optional.empty(),
                Optional.empty(), TTL, Duration.ofMillis(500), Duration.ofSeconds(1)));
        cluster = new ClusterState(etcd);
        Await.until("primary leads", Duration.ofSeconds(15),
                () -> cluster.leader().map(l -> l.instance().equals("primary-1")).orElse(false));
        Await.until("both relays registered", Duration.ofSeconds(15), () -> cluster.registered("members").size() == 2);
        agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml(Topologies.agentOnRelays(primary.port(), standby.port(),
                "{ interval: PT0.25S, timeout: PT0.3S }", etcdSection)), Map.<String, String>of()::get));
        Await.until("agent follows primary-1", Duration.ofSeconds(10), () -> agentLeader().equals("primary-1"));
    }

    @AfterEach
    void stop() {
        for (JavaProcess p : new JavaProcess[]{primary, standby}) {
            if (p != null) {
                try { // what leadership did, kept in the surefire report for a failed run
                    System.out.println("---- " + p.name() + ":\n" + String.join("\n", Files.readAllLines(p.log()).stream()
                            .filter(l -> l.contains("leadership") || l.contains("SEVERE") || l.contains("Exception")
                                    || l.contains("etcd")).limit(40).toList()));
                } catch (java.io.IOException ignored) {
                    // no log
                }
            }
        }
        if (agent != null) {
            agent.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        for (AutoCloseable c : new AutoCloseable[]{primary, standby, sim, etcdProcess}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // closing everything, also on failure
            }
        }
    }

    private JsonNode agentStatus() {
        try {
            return Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String etcdSection(String endpoint) {
        return """
                etcd:
                  endpoints: [ "%s" ]
                  cluster: test
                  lease-ttl: PT2S
                  keep-alive: PT0.5S
                """.formatted(endpoint);
    }

    private JsonNode relayStatus(JavaProcess relay) {
        try {
            return Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A fleet puts etcd's gRPC proxy between its agents and the etcd members (docs/OPERATIONS.md). An
     * agent that reaches etcd only through the proxy follows the leader, and a promotion, as one
     * connected directly does.
     */
    @Test
    void anAgentBehindEtcdsGrpcProxyFollowsAPromotion() throws Exception {
        try (EtcdGrpcProxy proxy = new EtcdGrpcProxy(dir.resolve("proxy"), etcdProcess.endpoint());
             AgentServer behindProxy = AgentServer.start(AgentConfig.from(AgentHarness.yaml(Topologies.agentOnRelays(
                     primary.port(), standby.port(), "", "agent: { name: behind-proxy }\n"
                             + etcdSection(proxy.endpoint()))), Map.<String, String>of()::get))) {
            Await.until("the agent behind the proxy follows primary-1", Duration.ofSeconds(10),
                    () -> leaderSeenBy(behindProxy).equals("primary-1"));
            ClusterOps.Result promoted = new ClusterOps(cluster, Clock.systemUTC())
                    .moveLeadership("promote", "standby", "through the proxy", "tester", false, Duration.ofSeconds(15));
            assertInstanceOf(ClusterOps.Done.class, promoted, promoted.message());
            Await.until("the agent behind the proxy follows standby-1", Duration.ofSeconds(5),
                    () -> leaderSeenBy(behindProxy).equals("standby-1"));
            assertTrue(cluster.registered("agents").stream().anyMatch(a -> a.path("agent").asText().equals("behind-proxy")),
                    "it registered through the proxy too");
        }
    }

    private String leaderSeenBy(AgentServer server) {
        try {
            return Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).path("leader").path("instance").asText("");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private String agentLeader() {
        return agentStatus().path("leader").path("instance").asText("");
    }

    private HttpResponse<String> chat(String content) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat("m", false, content))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void killedLeaderIsReplacedWithinTtlPlusOneSecondAndTheAgentFollowsAtOnce() throws Exception {
        assertEquals("primary-1", chat("before").headers().firstValue("x-understudy-upstream").orElseThrow());
        long killedAt = System.nanoTime();
        primary.kill();
        long[] etcdSaw = new long[1];
        long[] agentSaw = new long[1];
        Await.until("standby leads in etcd and the agent follows", Duration.ofSeconds(10), () -> {
            long now = System.nanoTime();
            if (etcdSaw[0] == 0 && cluster.leader().map(l -> l.instance().equals("standby-1")).orElse(false)) {
                etcdSaw[0] = now;
            }
            if (agentSaw[0] == 0 && agentLeader().equals("standby-1")) {
                agentSaw[0] = now;
            }
            return etcdSaw[0] != 0 && agentSaw[0] != 0;
        });
        long takeover = Duration.ofNanos(etcdSaw[0] - killedAt).toMillis();
        long follow = Duration.ofNanos(agentSaw[0] - etcdSaw[0]).toMillis();
        assertTrue(takeover <= TTL.toMillis() + 1000, "standby led " + takeover + " ms after the kill (TTL 2 s)");
        assertTrue(follow <= 200, "the agent followed " + follow + " ms after etcd changed");
        HttpResponse<String> after = chat("after");
        assertEquals(200, after.statusCode());
        assertEquals("standby-1", after.headers().firstValue("x-understudy-upstream").orElseThrow());
        long newEpoch = cluster.leader().orElseThrow().epoch();
        Await.until("the standby stamps its answers with the new epoch", Duration.ofSeconds(2), () -> {
            try {
                HttpResponse<String> r = chat("stamped");
                return r.headers().firstValue("x-understudy-epoch").map(Long::parseLong).orElse(0L) == newEpoch
                        && r.headers().firstValue("x-understudy-leader").orElse("").equals("true");
            } catch (Exception e) {
                return false;
            }
        });
        JsonNode last = cluster.history().get(cluster.history().size() - 1);
        assertEquals("standby-1", last.path("to").asText());
        assertEquals("automatic", last.path("who").asText());
    }

    @Test
    void promoteStandbyUnderLoadFailsNoRequestAndSwitchoverMovesBack() throws Exception {
        ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        List<Thread> clients = new java.util.ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int client = c;
            clients.add(Thread.ofVirtual().start(() -> {
                for (int n = 0; loading.get() && n < 2000; n++) {
                    try {
                        HttpResponse<String> r = chat("load " + client + " " + n);
                        statuses.add(r.statusCode());
                        if (r.statusCode() != 200 && failures.size() < 5) {
                            failures.add(r.statusCode() + " " + r.headers().firstValue("x-understudy-decision").orElse("") + " " + r.body());
                        }
                    } catch (Exception e) {
                        statuses.add(-1);
                    }
                }
            }));
        }
        Await.until("load flowing", Duration.ofSeconds(10), () -> statuses.size() >= 20);
        ClusterOps ops = new ClusterOps(cluster, Clock.systemUTC());
        ClusterOps.Result promoted = ops.moveLeadership("promote", "standby", "test promotion", "tester", false, Duration.ofSeconds(15));
        assertInstanceOf(ClusterOps.Done.class, promoted, promoted.message());
        Await.until("agent follows standby-1", Duration.ofSeconds(5), () -> agentLeader().equals("standby-1"));
        Await.until("traffic on standby", Duration.ofSeconds(5), () -> {
            try {
                return chat("probe").headers().firstValue("x-understudy-upstream").orElse("").equals("standby-1");
            } catch (Exception e) {
                return false;
            }
        });
        ClusterOps.Result back = ops.moveLeadership("switchover", "primary", "planned move back", "tester", false, Duration.ofSeconds(15));
        assertInstanceOf(ClusterOps.Done.class, back, back.message());
        // regression: after a switchover away from it, the standby stayed a candidate queued in the election
        Await.until("standby-1 cold again", Duration.ofSeconds(5),
                () -> relayStatus(standby).path("leadership").path("state").asText().equals("cold"));
        assertEquals(1, cluster.candidates(), "only the primary is in the election");
        int afterSwitchover = statuses.size();
        Await.until("load flowing after the switchover", Duration.ofSeconds(10), () -> statuses.size() >= afterSwitchover + 20);
        loading.set(false);
        for (Thread t : clients) {
            t.join();
        }
        long failed = statuses.stream().filter(s -> s != 200).count();
        assertTrue(statuses.size() > 50, "load ran: " + statuses.size());
        assertEquals(0, failed, "failed requests during promote and switchover: " + failed + " of " + statuses.size()
                + ", e.g. " + failures);
        List<JsonNode> history = cluster.history();
        JsonNode promotion = history.get(history.size() - 2);
        assertEquals("standby-1", promotion.path("to").asText());
        assertEquals("tester", promotion.path("who").asText());
        assertTrue(promotion.path("why").asText().contains("test promotion"));
        assertEquals("primary-1", history.get(history.size() - 1).path("to").asText());
    }

    @Test
    void forcedPromotionFencesAFrozenLeaderAndItsStaleEpochIsRejected() throws Exception {
        long oldEpoch = cluster.leader().orElseThrow().epoch();
        primary.freeze();
        ClusterOps ops = new ClusterOps(cluster, Clock.systemUTC());
        ClusterOps.Result promoted = ops.moveLeadership("promote", "standby", "primary hung", "tester", true, Duration.ofSeconds(15));
        assertInstanceOf(ClusterOps.Done.class, promoted, promoted.message());
        assertTrue(((ClusterOps.Done) promoted).leader().epoch() > oldEpoch);
        Await.until("agent follows standby-1", Duration.ofSeconds(5), () -> agentLeader().equals("standby-1"));
        primary.thaw();
        JsonNode relayStatus = Await.value("the old primary knows it is not leader", Duration.ofSeconds(10), () -> {
            try {
                JsonNode s = Json.parse(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + primary.port() + "/status"))
                        .build(), HttpResponse.BodyHandlers.ofString()).body());
                String state = s.path("leadership").path("state").asText();
                return state.equals("leader") || state.equals("draining") ? null : s;
            } catch (Exception e) {
                return null;
            }
        });
        assertTrue(List.of("stepped_down", "candidate").contains(relayStatus.path("leadership").path("state").asText()),
                relayStatus.toString());
        long newEpoch = ((ClusterOps.Done) promoted).leader().epoch();
        assertEquals(newEpoch, agentStatus().path("leader").path("epoch").asLong(), "the agent follows the new epoch");
        // the thawed primary queues behind the standby: no split brain, no pre-emption
        Await.until("standby still leads after the primary woke up", Duration.ofSeconds(3),
                () -> cluster.leader().map(l -> l.instance().equals("standby-1") && l.epoch() == newEpoch).orElse(false));
        Await.until("the agent reports its view in etcd for `understudy status`", Duration.ofSeconds(3),
                () -> cluster.registered("agents").stream().anyMatch(a -> a.path("epoch").asLong() == newEpoch));
    }

    @Test
    void etcdOutageChangesNothingAndTheViewIsCurrentAgainWhenItReturns() throws Exception {
        long subscriptions = agentStatus().path("leader").path("subscriptions").asLong();
        etcdProcess.stop();
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = chat("outage " + i);
            assertEquals(200, r.statusCode());
            assertEquals("primary-1", r.headers().firstValue("x-understudy-upstream").orElseThrow(), "no leadership change");
        }
        Await.until("the agent reports a stale view", Duration.ofSeconds(10),
                () -> agentStatus().path("leader").path("view_stale_ms").asLong() > 1500);
        assertEquals("primary-1", agentLeader(), "the last known leader is kept");
        etcdProcess.start();
        Await.until("resubscribed and current again", Duration.ofSeconds(20), () -> {
            JsonNode l = agentStatus().path("leader");
            return l.path("subscriptions").asLong() > subscriptions && l.path("view_stale_ms").asLong() < 1500
                    && l.path("etcd_error").asText().isEmpty();
        });
        Await.until("a leader again", Duration.ofSeconds(15), () -> cluster.leader().isPresent());
        assertEquals(200, chat("after outage").statusCode());
    }
}
