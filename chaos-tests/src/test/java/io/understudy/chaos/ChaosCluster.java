package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import eu.rekawek.toxiproxy.Proxy;
import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdCluster;
import io.understudy.testkit.EtcdProcess;
import io.understudy.testkit.JavaProcess;
import io.understudy.testkit.ToxiproxyServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * The whole appliance as separate OS processes, with Toxiproxy in front of everything that can
 * break: etcd (single member, or a 3-member cluster), provider-sim, the primary and standby
 * relays and one agent. Proxies: {@code primary} and {@code standby} (agent -> relay),
 * {@code direct} (agent -> provider), {@code provider-primary} and {@code provider-standby}
 * (relay -> provider; provider-sim logs which one a call came through), {@code etcd-primary}, {@code etcd-standby}, {@code etcd-agent}
 * (each part's own link to a single-member etcd, so one part can be cut off alone).
 * Relays bind a free port at start and keep it across a restart. {@link #close()} stops every process, also on failure.
 */
final class ChaosCluster implements AutoCloseable {
    static final String CLUSTER = "chaos";
    /** Leader lease of most scenarios: short, so leadership moves within seconds and the suite stays quick. */
    static final Duration FAST_LEASE_TTL = Duration.ofSeconds(2);
    /** The product's default lease TTL (config/primary.yaml). */
    static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(5);
    /** provider-sim's pace: first token after {@code ttftMs}, then {@code tokens} tokens {@code tokenDelayMs} apart. */
    record SimTiming(int ttftMs, int tokenDelayMs, int tokens) {
        /** Most scenarios: an answer in about 110 ms. */
        static final SimTiming QUICK = new SimTiming(0, 10, 12);

        List<String> args() {
            return List.of("0", String.valueOf(ttftMs), String.valueOf(tokenDelayMs), String.valueOf(tokens));
        }

        /** How long provider-sim takes to answer a whole request, on its own. */
        long answerMillis() {
            return ttftMs + (long) tokenDelayMs * tokens;
        }
    }

    /** The agent's configuration: tuned for a quick suite, or {@code config/agent.yaml} as shipped (ports aside). */
    enum AgentProfile {
        /** Probes every 0.25 s with a 0.3 s timeout, first token 3 s, idle 2 s: faults show within a second or two. */
        CHAOS,
        /** What a user runs: the builtin config/agent.yaml with only its addresses pointed at this appliance. */
        SHIPPED,
        /**
         * The agent alone, no relays and no etcd: a direct tier of two providers, {@code sim} and
         * {@code backup} (provider-sim again, through its own link), tried in that order, with every
         * other setting at the defaults config/agent.yaml documents.
         */
        ALONE;

        /** The tier that serves in steady state. */
        String steadyTier() {
            return this == ALONE ? "direct" : "primary";
        }
    }

    /** ALONE: models named {@value #LIMITED_PREFIX}* are served by the first provider only, with a fallback model there. */
    static final String LIMITED_PREFIX = "limited-";
    static final String LIMITED_FALLBACK = "steady";
    private static final String ALONE_LIMITED_ROUTE = "  - model: \"limited-*\"\n    targets: [ { provider: sim } ]";
    private static final String ALONE_LIMITED_RULE = "  - model: \"limited-*\"\n    fallbacks: [ \"steady\" ]";

    /** Prompts the load driver cycles through; their deterministic answers are read from provider-sim at start. */
    private static final List<String> PROMPTS = List.of("why is the sky blue", "a haiku about failover", "explain etcd leases",
            "name three rivers", "what is a relay", "count to five", "describe toxiproxy", "sum two numbers");

    final Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    final ToxiproxyServer toxiproxy;
    final EtcdProcess etcd;
    final EtcdCluster etcdCluster;
    final JavaProcess sim;
    final Proxy direct;
    /** ALONE only: the second provider's link to provider-sim. */
    final Proxy backup;
    final Proxy providerForPrimary;
    final Proxy providerForStandby;
    /**
     * Relay topology: the link to provider {@code cheap}, the same provider-sim tagged {@code region: us}
     * where {@code sim} is tagged {@code region: eu, retention: zero}; it serves only {@code eu-*} models,
     * listed before {@code sim} there (the cheaper first choice that compliance must skip).
     */
    final Proxy cheap;
    final Proxy etcdPrimary;
    final Proxy etcdStandby;
    final Proxy etcdAgent;
    final int primaryPort;
    final int standbyPort;
    final Proxy primaryProxy;
    final Proxy standbyProxy;
    private final Duration leaseTtl;
    private final Path primaryYaml;
    private final Path standbyYaml;
    volatile JavaProcess primary;
    volatile JavaProcess standby;
    final JavaProcess agent;
    final Etcd etcdClient;
    final ClusterState state;
    final Map<String, String> expected = new LinkedHashMap<>();

    /**
     * @param etcdMembers 1 (behind Toxiproxy) or 3 (a real cluster the parts reach directly)
     * @param leaseTtl    the relays' leader lease; they renew it every quarter of it
     * @param simTiming   how fast provider-sim answers
     * @param profile     the agent's configuration
     */
    ChaosCluster(Path dir, int etcdMembers, Duration leaseTtl, SimTiming simTiming, AgentProfile profile) {
        this.dir = dir;
        this.leaseTtl = leaseTtl;
        try {
            deleteRecursively(dir); // etcd data or logs left by an earlier run must not leak into this one
            Files.createDirectories(dir);
            toxiproxy = track(new ToxiproxyServer(dir));
            List<String> etcdEndpoints;
            boolean alone = profile == AgentProfile.ALONE;
            if (alone) {
                etcd = null;
                etcdCluster = null;
                etcdPrimary = etcdStandby = etcdAgent = null;
                etcdEndpoints = List.of();
            } else if (etcdMembers == 1) {
                etcd = track(new EtcdProcess(dir));
                etcdCluster = null;
                int etcdPort = URI.create(etcd.endpoint()).getPort();
                etcdPrimary = toxiproxy.proxy("etcd-primary", etcdPort);
                etcdStandby = toxiproxy.proxy("etcd-standby", etcdPort);
                etcdAgent = toxiproxy.proxy("etcd-agent", etcdPort);
                etcdEndpoints = List.of(etcd.endpoint());
            } else {
                etcd = null;
                etcdCluster = track(new EtcdCluster(dir, etcdMembers));
                etcdPrimary = etcdStandby = etcdAgent = null;
                etcdEndpoints = etcdCluster.endpoints();
            }
            sim = track(JavaProcess.start("sim", dir, "io.understudy.sim.SimMain", simTiming.args()));
            direct = toxiproxy.proxy("direct", sim.port());
            if (alone) {
                backup = toxiproxy.proxy("backup", sim.port());
                providerForPrimary = providerForStandby = primaryProxy = standbyProxy = cheap = null;
                primaryYaml = standbyYaml = null;
                primaryPort = standbyPort = -1;
                etcdClient = null;
                state = null;
                Path agentYaml = dir.resolve("agent.yaml");
                Files.writeString(agentYaml, io.understudy.testkit.Topologies.agentAlone("http://127.0.0.1:" + ToxiproxyServer.port(direct),
                        Optional.of("http://127.0.0.1:" + ToxiproxyServer.port(backup)), ALONE_LIMITED_ROUTE, ALONE_LIMITED_RULE));
                agent = track(JavaProcess.start("agent", dir, "io.understudy.agent.AgentMain", List.of(agentYaml.toString())));
            } else {
                backup = null;
                providerForPrimary = toxiproxy.proxy("provider-primary", sim.port());
                providerForStandby = toxiproxy.proxy("provider-standby", sim.port());
                cheap = toxiproxy.proxy("provider-cheap", sim.port());
                primaryYaml = writeRelayYaml("primary", providerForPrimary, etcdPrimary != null ? List.of(url(etcdPrimary)) : etcdEndpoints);
                standbyYaml = writeRelayYaml("standby", providerForStandby, etcdStandby != null ? List.of(url(etcdStandby)) : etcdEndpoints);
                // both relays boot at once: the machine has two cores and JVM start-up is most of the wait
                // on port 0: a port picked in advance can be taken by then (seen: BindException)
                CompletableFuture<JavaProcess> p = CompletableFuture.supplyAsync(() -> startRelay("primary", 0));
                CompletableFuture<JavaProcess> s = CompletableFuture.supplyAsync(() -> startRelay("standby", 0));
                primary = track(joinOrClose(p, s));
                standby = track(s.join());
                primaryPort = primary.port();
                standbyPort = standby.port();
                primaryProxy = toxiproxy.proxy("primary", primaryPort);
                standbyProxy = toxiproxy.proxy("standby", standbyPort);
                etcdClient = track(new Etcd(new EtcdSettings(etcdEndpoints.stream().map(URI::create).toList(), CLUSTER,
                        Optional.empty(), Optional.empty(), Optional.empty(), leaseTtl, leaseTtl.dividedBy(4), Duration.ofSeconds(2))));
                state = new ClusterState(etcdClient);
                Await.until("primary-1 leads", Duration.ofSeconds(20),
                        () -> state.leader().map(l -> l.instance().equals("primary-1")).orElse(false));
                Path agentYaml = dir.resolve("agent.yaml");
                List<String> agentEtcd = etcdAgent != null ? List.of(url(etcdAgent)) : etcdEndpoints;
                Files.writeString(agentYaml, switch (profile) {
                    case CHAOS -> agentYaml(agentEtcd);
                    case SHIPPED -> shippedAgentYaml(agentEtcd);
                    case ALONE -> throw new IllegalStateException("the agent alone has no relays");
                });
                agent = track(JavaProcess.start("agent", dir, "io.understudy.agent.AgentMain", List.of(agentYaml.toString())));
            }
            for (String prompt : PROMPTS) {
                expected.put(prompt, directAnswer(prompt));
            }
            if (alone) {
                Await.until("agent sees both providers up", Duration.ofSeconds(20),
                        () -> health("direct:sim").equals("up") && health("direct:backup").equals("up"));
            } else {
                Await.until("agent sees both relays up and follows primary-1", Duration.ofSeconds(20),
                        () -> health("primary-1").equals("up") && health("standby-1").equals("up") && agentLeader().equals("primary-1"));
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Joins {@code first}; if it failed, stops {@code other} once it is up, so nothing is left running. */
    private static JavaProcess joinOrClose(CompletableFuture<JavaProcess> first, CompletableFuture<JavaProcess> other) {
        try {
            return first.join();
        } catch (RuntimeException e) {
            other.thenAccept(JavaProcess::close).exceptionally(ignored -> null).join();
            throw e;
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    private static String url(Proxy proxy) {
        return "http://" + proxy.getListen();
    }

    private Path writeRelayYaml(String role, Proxy provider, List<String> etcdEndpoints) throws IOException {
        Path file = dir.resolve(role + ".yaml");
        Files.writeString(file, """
                server: { host: 127.0.0.1, port: 0 }
                relay: { drain-bound: PT5S }
                %s
                etcd:
                  endpoints: [ %s ]
                  cluster: %s
                  lease-ttl: %s
                  keep-alive: %s
                """.formatted(providerYaml(provider, cheap), quoted(etcdEndpoints), CLUSTER, leaseTtl, leaseTtl.dividedBy(4)));
        return file;
    }

    private String agentYaml(List<String> etcdEndpoints) {
        return """
                server: { host: 127.0.0.1, port: 0 }
                agent:
                  request-timeout: PT20S
                tiers:
                  - name: primary
                    kind: relay
                    probe: { interval: PT0.25S, timeout: PT0.3S, fall: 2, rise: 2 }
                    timeouts: { connect: PT0.5S, first-token: PT3S, idle: PT2S }
                    instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                  - name: standby
                    kind: relay
                    probe: { interval: PT0.25S, timeout: PT0.3S, fall: 2, rise: 2 }
                    timeouts: { connect: PT0.5S, first-token: PT3S, idle: PT2S }
                    instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                  - name: direct
                    kind: direct
                    timeouts: { connect: PT0.5S, first-token: PT3S, idle: PT2S }
                %s
                models:
                  - model: "*"
                    prefill: true
                etcd:
                  endpoints: [ %s ]
                  cluster: %s
                """.formatted(ToxiproxyServer.port(primaryProxy), ToxiproxyServer.port(standbyProxy),
                providerYaml(direct, cheap), quoted(etcdEndpoints), CLUSTER);
    }

    /**
     * config/agent.yaml as shipped (the copy built into the agent), with its four addresses pointed at this
     * appliance: its own port, the two relays, the direct tier's provider and etcd. Nothing else changes.
     */
    private String shippedAgentYaml(List<String> etcdEndpoints) {
        return io.understudy.core.config.ShippedConfig.moved("agent.yaml", new io.understudy.core.config.ShippedConfig.Addresses(0,
                ToxiproxyServer.port(primaryProxy), ToxiproxyServer.port(standbyProxy), ToxiproxyServer.port(direct),
                etcdEndpoints, CLUSTER));
    }

    /**
     * provider-sim reached through {@code link}: the providers, routes and prices of a relay or of the
     * direct tier; and through {@code cheapLink} as provider {@code cheap}, which only {@code eu-*}
     * models are routed to, first (see {@link #cheap}).
     */
    private static String providerYaml(Proxy link, Proxy cheapLink) {
        return """
                providers:
                  - { name: sim, kind: openai, base-url: "http://127.0.0.1:%d/v1", read-timeout: PT5S, tags: { region: eu, retention: zero } }
                  - { name: cheap, kind: openai, base-url: "http://127.0.0.1:%d/v1", read-timeout: PT5S, tags: { region: us } }
                routes:
                  - model: "eu-*"
                    targets: [ { provider: cheap }, { provider: sim } ]
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.60 }
                  - { provider: cheap, model: "*", input-per-million: 0.05, output-per-million: 0.20 }
                """.formatted(ToxiproxyServer.port(link), ToxiproxyServer.port(cheapLink)).stripTrailing();
    }

    private static String quoted(List<String> items) {
        return items.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(", "));
    }

    private JavaProcess startRelay(String role, int port) {
        boolean primary = role.equals("primary");
        return JavaProcess.start(role, dir, primary ? "io.understudy.primary.PrimaryMain" : "io.understudy.standby.StandbyMain",
                List.of((primary ? primaryYaml : standbyYaml).toString(), String.valueOf(port)));
    }

    /** Starts the primary relay again after it was killed, on the same port (behind the same proxy) and config. */
    void restartPrimary() {
        primary.close();
        primary = track(startRelay("primary", primaryPort));
    }

    String agentBase() {
        return "http://127.0.0.1:" + agent.port();
    }

    /** Load whose requests are named {@code modelPrefix<seq>} (chaos-, or limited- for the ALONE fallback route). */
    LoadDriver load(int ratePerSecond, String modelPrefix, Map<String, String> headers) {
        return new LoadDriver(agentBase(), expected, ratePerSecond, Duration.ofSeconds(30), modelPrefix, headers);
    }

    // ------------------------------------------------------------------ observation

    JsonNode get(String url) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return Json.parse(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    JsonNode agentStatus() {
        return get(agentBase() + "/status");
    }

    /** How many times the agent's probes marked a relay down since it started (its health transitions metric). */
    long relaysMarkedDown() {
        return (long) agentMetricSum("understudy_agent_health_transitions_total{", "to=\"DOWN\"");
    }

    /** How many probe timeouts were no verdict (busy upstream or starved host) since the agent started. */
    long probeTimeoutsExcused() {
        return (long) agentMetricSum("understudy_agent_health_busy_probes_total{", "");
    }

    /** The sum of the agent's Prometheus samples whose line starts with {@code series} and contains {@code label}. */
    private double agentMetricSum(String series, String label) {
        try {
            String text = http.send(HttpRequest.newBuilder(URI.create(agentBase() + "/metrics")).timeout(Duration.ofSeconds(3)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            double sum = 0;
            for (String line : text.split("\n")) {
                if (line.startsWith(series) && line.contains(label)) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The agent's health verdict for an upstream: up, suspect, down or unknown. */
    String health(String upstream) {
        for (JsonNode tier : agentStatus().path("tiers")) {
            for (JsonNode u : tier.path("upstreams")) {
                if (u.path("name").asText().equals(upstream)) {
                    return u.path("health").asText();
                }
            }
        }
        throw new IllegalArgumentException("no upstream " + upstream);
    }

    String agentLeader() {
        return agentStatus().path("leader").path("instance").asText("");
    }

    long agentEpoch() {
        return agentStatus().path("leader").path("epoch").asLong();
    }

    /** A relay's own view of its leadership (state, epoch), asked directly, not through a proxy. */
    JsonNode relayReady(int port) {
        return get("http://127.0.0.1:" + port + "/health/ready");
    }

    /** Starts a provider-sim storm ({@code PUT /sim/storm} with {@code json}), or ends it when {@code json} is null. */
    void storm(String json) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + "/sim/storm"))
                .timeout(Duration.ofSeconds(3));
        HttpResponse<String> r = http.send(json == null ? b.DELETE().build()
                : b.header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("storm control refused: " + r.body());
        }
    }

    JsonNode simAttempts() {
        return get("http://127.0.0.1:" + sim.port() + "/sim/attempts");
    }

    /** The whole leadership history recorded in etcd, oldest first. */
    List<JsonNode> history() {
        return state.history();
    }

    private String directAnswer(String prompt) throws IOException {
        String body = Json.text(Json.object().put("model", "expected").put("stream", false)
                .set("messages", Json.array().add(Json.object().put("role", "user").put("content", prompt))));
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // stop everything else anyway
            }
        }
        closeables.clear();
        http.close();
    }
}
