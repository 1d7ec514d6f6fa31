package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.JavaProcess;
import io.understudy.testkit.Topologies;
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
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hot reload of real relay and agent processes while traffic flows through them: a new
 * configuration is applied without losing a request, requests in flight finish on the one they
 * started with, and a broken configuration is refused, named by its key, counted, and changes nothing.
 */
class ReloadTest {
    /** Streams of 40 chunks 50 ms apart (2 s): a reload (read, build, swap) ends well within one. */
    private static final Duration STREAM_CHUNK = Duration.ofMillis(50);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void aRelayReloadedBySighupUnderLoadLosesNothingAndRefusesABrokenConfig(@TempDir Path dir) throws Exception {
        try (ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, STREAM_CHUNK, 40))) {
            Path yaml = Files.writeString(dir.resolve("relay.yaml"), Topologies.relayOnSim(sim.baseUrl(), "sim", ""));
            try (JavaProcess relay = JavaProcess.start("relay", dir, "io.understudy.primary.PrimaryMain", List.of(yaml.toString()))) {
                String base = "http://127.0.0.1:" + relay.port();
                assertTrue(status(base).path("config").path("reloads_on_sighup").asBoolean(), "SIGHUP reloads it: " + relay.tail());
                try (ChatLoad load = new ChatLoad(http, sim, base, "reload-model", 6, false)) {
                    load.awaitServedBy("sim", 6);
                    Files.writeString(yaml, Topologies.relayOnSim(sim.baseUrl(), "sim-eu", ""));
                    long reloadAt = System.nanoTime();
                    relay.hangUp();
                    long swappedBy = generationSeen(base, 2, relay);
                    load.awaitServedBy("sim-eu", 6);
                    load.stop();
                    assertNothingLostAcross(load.outcomes(), reloadAt, swappedBy, "sim", "sim-eu");
                }
                assertEquals(2, status(base).path("config").path("generation").asInt(), "generation 2 runs");
                assertEquals(1.0, reloads(base, "understudy_relay", "applied"));

                Files.writeString(yaml, Topologies.relayOnSim(sim.baseUrl(), "sim-us", "").replace("drain-bound: PT5S", "drain-bound: banana"));
                relay.hangUp();
                Await.until("the broken config is refused", Duration.ofSeconds(10), () -> reloads(base, "understudy_relay", "refused") == 1.0);
                // the log reaches its file through a pipe: wait for the line rather than race it
                Await.until("the log names the offending key", Duration.ofSeconds(10), () -> logContains(relay, "relay.drain-bound"));
                ChatClient.Outcome after = ChatClient.call(http, base, "reload-model", false, "still there", "");
                assertEquals("sim-eu", after.provider(), "the running configuration stayed");
                assertEquals(2, status(base).path("config").path("generation").asInt());
            }
        }
    }

    @Test
    void anAgentWatchingItsFileReloadsUnderLoadKeepsWhatItKnowsAndRefusesABrokenConfig(@TempDir Path dir) throws Exception {
        try (ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, STREAM_CHUNK, 40))) {
            String watch = "reload: { watch: true, interval: PT0.2S }\n";
            String models = "  - model: \"reload-*\"\n    prefill: true\n";
            Path yaml = Files.writeString(dir.resolve("agent.yaml"),
                    Topologies.agentAlone(sim.baseUrl(), Optional.of(sim.baseUrl()), "", models) + watch);
            try (JavaProcess agent = JavaProcess.start("agent", dir, "io.understudy.agent.AgentMain", List.of(yaml.toString()))) {
                String base = "http://127.0.0.1:" + agent.port();
                Await.until("the agent's probes find its providers up", Duration.ofSeconds(20),
                        () -> healthSince(base).values().stream().filter(h -> h.startsWith("up ")).count() == 2);
                java.util.Map<String, String> healthBefore = healthSince(base);
                try (ChatLoad load = new ChatLoad(http, sim, base, "reload-model", 6, false)) {
                    load.awaitServedBy("sim", 6);
                    String routeToBackup = "  - model: \"reload-*\"\n    targets: [ { provider: backup } ]\n";
                    long reloadAt = System.nanoTime();
                    Files.writeString(yaml, Topologies.agentAlone(sim.baseUrl(), Optional.of(sim.baseUrl()), routeToBackup, models) + watch);
                    long swappedBy = generationSeen(base, 2, agent);
                    load.awaitServedBy("backup", 6);
                    // the providers did not change: the new configuration took them over as they were, probes and all
                    assertEquals(healthBefore, healthSince(base), "both providers still up since before, not probed again from scratch");
                    load.stop();
                    assertNothingLostAcross(load.outcomes(), reloadAt, swappedBy, "sim", "backup");
                }
                assertEquals(1.0, reloads(base, "understudy_agent", "applied"));

                Files.writeString(yaml, Topologies.agentAlone(sim.baseUrl(), Optional.of(sim.baseUrl()), "", models) + watch
                        + "agent: { request-timeout: banana }\n");
                Await.until("the broken config is refused", Duration.ofSeconds(10), () -> reloads(base, "understudy_agent", "refused") == 1.0);
                // the log reaches its file through a pipe: wait for the line rather than race it
                Await.until("the log names the offending key", Duration.ofSeconds(10), () -> logContains(agent, "agent.request-timeout"));
                assertEquals("backup", ChatClient.call(http, base, "reload-model", false, "still there", "").provider(),
                        "the running configuration stayed");
                assertEquals(2, status(base).path("config").path("generation").asInt());
            }
        }
    }

    /**
     * Tiers and instances change under a running agent: an instance whose definition is unchanged is
     * the same upstream after the reload (its health not reset); one that moved to a new address is a
     * new upstream, probed at the new address; one removed is gone from /status and from the metrics.
     */
    @Test
    void anAgentReloadKeepsUnchangedRelaysAndReplacesMovedOnes() throws Exception {
        try (ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0));
             io.understudy.relay.RelayServer primary = relayOn(sim);
             io.understudy.relay.RelayServer standby = relayOn(sim);
             io.understudy.relay.RelayServer standbyMoved = relayOn(sim)) {
            String probe = "{ interval: PT0.2S, timeout: PT0.5S, fall: 2, rise: 2 }";
            AgentConfig v1 = AgentConfig.from(AgentHarness.yaml(Topologies.agentOnRelays(primary.port(), standby.port(), probe, "")),
                    java.util.Map.<String, String>of()::get);
            try (AgentServer agent = AgentServer.start(v1)) {
                String base = "http://127.0.0.1:" + agent.port();
                Await.until("both relays up", Duration.ofSeconds(10),
                        () -> healthSince(base).values().stream().filter(h -> h.startsWith("up ")).count() == 2);
                String primaryBefore = healthSince(base).get("primary-1");

                agent.reconfigure(AgentConfig.from(AgentHarness.yaml(Topologies.agentOnRelays(primary.port(), standbyMoved.port(),
                        probe, "")), java.util.Map.<String, String>of()::get));
                assertEquals(primaryBefore, healthSince(base).get("primary-1"), "primary-1 did not change: the same upstream");
                Await.until("standby-1 probed at its new address", Duration.ofSeconds(10),
                        () -> healthSince(base).getOrDefault("standby-1", "").startsWith("up "));
                assertEquals(1, gauges(base, "standby-1"), "one health gauge for standby-1, the new one");

                String primaryOnly = """
                        server: { host: 127.0.0.1, port: 0 }
                        tiers:
                          - name: primary
                            kind: relay
                            probe: %s
                            instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                        """.formatted(probe, primary.port());
                agent.reconfigure(AgentConfig.from(AgentHarness.yaml(primaryOnly), java.util.Map.<String, String>of()::get));
                assertEquals(java.util.Set.of("primary-1"), healthSince(base).keySet(), "standby-1 is gone");
                assertEquals(0, gauges(base, "standby-1"), "and so are its gauges");
                assertEquals(primaryBefore, healthSince(base).get("primary-1"));
                assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat("gpt-4o-mini", false, "after two reloads"))).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
    }

    private static io.understudy.relay.RelayServer relayOn(ProviderSim sim) {
        return io.understudy.relay.RelayServer.start(io.understudy.relay.RelayConfig.from(
                AgentHarness.yaml(Topologies.relayOnSim(sim.baseUrl(), "sim", "")),
                java.util.Map.<String, String>of()::get), new io.understudy.primary.PrimaryRole());
    }

    /** How many {@code understudy_agent_health_state} series name {@code upstream}. */
    private long gauges(String base, String upstream) {
        return get(base + "/metrics").lines().filter(l -> l.startsWith("understudy_agent_health_state{")
                && l.contains("upstream=\"" + upstream + "\"")).count();
    }

    /** Clients that keep asking for {@code model}, half of them streaming, until stopped. */
    /**
     * Every request answered whole; the ones started after {@code swappedBy} (when /status first
     * showed the new generation) all came from {@code after}; and at least one stream that began
     * before the reload was still flowing at {@code swappedBy}, and finished whole on {@code before}.
     */
    private static void assertNothingLostAcross(List<ChatClient.Outcome> all, long reloadAt, long swappedBy, String before,
                                                String after) {
        for (ChatClient.Outcome o : all) {
            assertTrue(o.complete(), "every request is answered whole: " + o);
        }
        for (ChatClient.Outcome o : all) {
            if (o.startNanos() > swappedBy) {
                assertEquals(after, o.provider(), "after the swap, the new configuration serves: " + o);
            }
        }
        List<ChatClient.Outcome> spanning = all.stream().filter(ChatClient.Outcome::stream)
                .filter(o -> o.startNanos() < reloadAt && o.endNanos() > swappedBy).toList();
        assertTrue(!spanning.isEmpty(), "some stream was in flight across the reload");
        for (ChatClient.Outcome o : spanning) {
            assertEquals(before, o.provider(), "a request in flight finishes on the configuration it started with: " + o);
        }
        System.out.println("reload: " + all.size() + " requests, " + spanning.size() + " streams in flight across it, none lost");
    }

    private static boolean logContains(JavaProcess process, String text) {
        try {
            return Files.readString(process.log()).contains(text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** When (System.nanoTime) /status first showed configuration {@code generation}: the swap happened before. */
    private long generationSeen(String base, int generation, JavaProcess process) {
        try {
            Await.until("configuration generation " + generation + " runs", Duration.ofSeconds(10),
                    () -> status(base).path("config").path("generation").asInt() >= generation);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the end of its log:\n" + process.tail(), e);
        }
        return System.nanoTime();
    }

    /** {@code PREFIX_config_reloads_total{result=RESULT}} from the process's metrics; 0 before the first. */
    private double reloads(String base, String prefix, String result) {
        Matcher m = Pattern.compile("(?m)^" + prefix + "_config_reloads_total\\{[^}]*result=\"" + result + "\"[^}]*} (\\S+)$")
                .matcher(get(base + "/metrics"));
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private String get(String url) {
        return ChatClient.get(http, url);
    }

    private JsonNode status(String base) {
        try {
            return Json.parse(get(base + "/status"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Each upstream's health and since when, from /status. */
    private java.util.Map<String, String> healthSince(String base) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (JsonNode tier : status(base).path("tiers")) {
            for (JsonNode u : tier.path("upstreams")) {
                out.put(u.path("name").asText(), u.path("health").asText() + " since " + u.path("health_since").asText());
            }
        }
        return out;
    }
}
