package io.understudy.agent;

import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The primary relay process killed with SIGKILL while requests flow through the agent. */
class AgentKillTest {

    @Test
    void everyRequestNotYetStreamingSucceedsOnTheStandby(@TempDir Path dir) throws Exception {
        SimConfig simConfig = SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(20), 12);
        try (ProviderSim sim = ProviderSim.start(simConfig)) {
            Path relayConfig = dir.resolve("relay.yaml");
            Files.writeString(relayConfig, AgentHarness.relayYaml(sim.baseUrl(), ""));
            try (JavaProcess primary = JavaProcess.start("primary", dir, "io.understudy.primary.PrimaryMain",
                    List.of(relayConfig.toString()));
                 JavaProcess standby = JavaProcess.start("standby", dir, "io.understudy.standby.StandbyMain",
                         List.of(relayConfig.toString()))) {
                String agentYaml = """
                        server: { host: 127.0.0.1, port: 0 }
                        tiers:
                          - name: primary
                            kind: relay
                            probe: { interval: PT0.25S, timeout: PT0.3S }
                            timeouts: { first-token: PT3S, idle: PT2S }
                            instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                          - name: standby
                            kind: relay
                            probe: { interval: PT0.25S, timeout: PT0.3S }
                            timeouts: { first-token: PT3S, idle: PT2S }
                            instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                        models:
                          - model: "kill-*"
                            prefill: true
                        """.formatted(primary.port(), standby.port());
                try (AgentServer agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml(agentYaml), Map.<String, String>of()::get))) {
                    String base = "http://127.0.0.1:" + agent.port();
                    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                    Await.until("agent sees both relays up", Duration.ofSeconds(10), () -> {
                        try {
                            String status = http.send(HttpRequest.newBuilder(URI.create(base + "/status")).build(),
                                    HttpResponse.BodyHandlers.ofString()).body();
                            return status.split("\"health\":\"up\"").length == 3;
                        } catch (Exception e) {
                            return false;
                        }
                    });
                    List<String> prompts = new ArrayList<>();
                    Map<String, String> expected = new java.util.HashMap<>();
                    for (int i = 0; i < 8; i++) {
                        String prompt = "kill prompt " + i;
                        prompts.add(prompt);
                        expected.put(prompt, ChatClient.expectedText(http, sim, prompt));
                    }
                    ConcurrentLinkedQueue<ChatClient.Outcome> outcomes = new ConcurrentLinkedQueue<>();
                    long runUntil = System.nanoTime() + Duration.ofSeconds(4).toNanos();
                    long[] killedAt = new long[1];
                    ExecutorService clients = Executors.newFixedThreadPool(8);
                    List<Future<?>> futures = new ArrayList<>();
                    for (int c = 0; c < 8; c++) {
                        int client = c;
                        futures.add(clients.submit(() -> {
                            for (int n = 0; System.nanoTime() < runUntil && n < 200; n++) {
                                String prompt = prompts.get((client + n) % prompts.size());
                                outcomes.add(ChatClient.call(http, base, "kill-model", (client + n) % 2 == 0, prompt, expected.get(prompt)));
                            }
                            return null;
                        }));
                    }
                    Await.until("traffic flowing on the primary first", Duration.ofSeconds(10), () -> outcomes.size() >= 40);
                    killedAt[0] = System.nanoTime();
                    primary.kill();
                    for (Future<?> f : futures) {
                        f.get();
                    }
                    clients.shutdown();

                    List<ChatClient.Outcome> all = new ArrayList<>(outcomes);
                    long afterKill = all.stream().filter(o -> o.startNanos() > killedAt[0]).count();
                    assertTrue(afterKill > 10, "traffic kept flowing after the kill: " + afterKill);
                    for (ChatClient.Outcome o : all) {
                        if (!o.stream()) {
                            assertTrue(o.complete(), "every non-streamed request succeeds: " + o);
                        } else if (o.startNanos() > killedAt[0]) {
                            assertTrue(o.complete(), "every stream started after the kill succeeds: " + o);
                        } else {
                            assertTrue(o.complete() || o.cleanError(), "a stream in flight completes or ends cleanly: " + o);
                        }
                        assertTrue(!o.done() || o.text().equals(o.expected()), "never a truncated answer that looks complete");
                    }
                    long streamsResumedOrOk = all.stream().filter(ChatClient.Outcome::stream).filter(ChatClient.Outcome::complete).count();
                    System.out.println("kill test: " + all.size() + " requests, " + afterKill + " after the kill, "
                            + all.stream().filter(o -> !o.complete()).count() + " clean errors, " + streamsResumedOrOk
                            + " complete streams");
                }
            }
        }
    }
}
