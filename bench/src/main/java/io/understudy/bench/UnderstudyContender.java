package io.understudy.bench;

import io.understudy.core.Version;
import io.understudy.testkit.JavaProcess;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Understudy as shipped, on the example config's defaults: either the agent alone (its direct-provider
 * tier, with a primary and a backup provider), or the full path agent -> primary relay, standby relay
 * ready. The "primary" is the primary provider, or the primary relay.
 */
final class UnderstudyContender implements Contender {
    private static final String RELAY_HEAP = "-Xmx512m";

    private final boolean fullPath;
    private Optional<Path> relayAotCache; // null until the first full-path deployment trains it

    UnderstudyContender(boolean fullPath) {
        this.fullPath = fullPath;
    }

    boolean fullPath() {
        return fullPath;
    }

    @Override
    public String name() {
        return fullPath ? "Understudy agent -> relay" : "Understudy agent only";
    }

    @Override
    public Optional<String> unavailable() {
        return Optional.empty();
    }

    @Override
    public String version() {
        return "Understudy " + Version.current();
    }

    @Override
    public Deployment deploy(Stage stage) throws Exception {
        Map<String, String> configs = new LinkedHashMap<>();
        List<ProcessHandle> system = new ArrayList<>();
        ProcessHandle primary;
        String agentYaml;
        if (fullPath) {
            JavaProcess sim = stage.sim("sim");
            String relayYaml = relayYaml("http://127.0.0.1:" + sim.port() + "/v1");
            configs.put("relay.yaml", relayYaml);
            String relayFile = stage.write("relay.yaml", relayYaml).toString();
            String[] aot = relayAotCache(stage).map(c -> new String[]{"-XX:AOTCache=" + c}).orElse(new String[0]);
            JavaProcess primaryRelay = stage.java("primary", "io.understudy.primary.PrimaryMain", List.of(relayFile), RELAY_HEAP, aot);
            JavaProcess standbyRelay = stage.java("standby", "io.understudy.standby.StandbyMain", List.of(relayFile), RELAY_HEAP, aot);
            primary = primaryRelay.handle();
            system.add(primaryRelay.handle());
            system.add(standbyRelay.handle());
            agentYaml = agentYaml("""
                      - name: primary
                        kind: relay
                        instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                      - name: standby
                        kind: relay
                        instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                      - name: direct
                        kind: direct
                    """.formatted(stage.reachPrimary(primaryRelay.port()), standbyRelay.port()),
                    "http://127.0.0.1:" + sim.port() + "/v1", null);
        } else {
            Stage.SimPair sims = stage.simPair();
            primary = sims.primary();
            agentYaml = agentYaml("""
                      - name: direct
                        kind: direct
                    """, "http://127.0.0.1:" + sims.primaryPort() + "/v1",
                    "http://127.0.0.1:" + sims.backupPort() + "/v1");
        }
        configs.put("agent.yaml", agentYaml);
        JavaProcess agent = stage.java("agent", "io.understudy.agent.AgentMain",
                List.of(stage.write("agent.yaml", agentYaml).toString()), "-Xmx128m");
        system.addFirst(agent.handle());
        // full path: measure from the steady state, the agent routing to the primary relay
        return new Deployment("http://127.0.0.1:" + agent.port(), Map.of(), Optional.of(primary), system, configs,
                fullPath ? Optional.of("primary-1") : Optional.empty());
    }

    /**
     * A full path's standby rehearses its request paths once after it starts (about 20-40 s of a
     * core here, longer while the primary path is loaded beside it). A standby up for a minute has
     * finished it; one still rehearsing when the primary fails competes with the failover for the
     * same two cores (measured: it ran into the fault in some runs, and ended only when real requests came).
     */
    @Override
    public Optional<String> settle(Stage stage, Duration within) throws InterruptedException {
        Path log = stage.dir().resolve("standby.log");
        if (!Files.exists(log)) {
            return Optional.empty(); // the agent alone: no standby relay
        }
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (Files.readString(log).contains("[io.understudy.relay.Rehearsal] rehearsed")) {
                    return Optional.empty();
                }
            } catch (java.io.IOException e) {
                return Optional.of("standby log unreadable: " + e.getMessage());
            }
            Thread.sleep(200); // polling a file the standby writes; bounded by the deadline
        }
        return Optional.of("standby still rehearsing after " + within.toSeconds() + " s");
    }

    /** Trained on the first full-path deployment, kept for the rest of the run. */
    private Optional<Path> relayAotCache(Stage stage) {
        if (relayAotCache == null) {
            relayAotCache = RelayAotCache.train(stage.dir().getParent().resolve("relay-aot"), RELAY_HEAP);
        }
        return relayAotCache;
    }

    private static String relayYaml(String providerUrl) {
        return """
                server: { host: 127.0.0.1, port: 0 }
                providers:
                  - { name: sim, kind: openai, base-url: "%s" }
                routes:
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.6 }
                """.formatted(providerUrl);
    }

    /** The agent on config/agent.yaml's defaults (probes, breakers, retry budget), tiers as given. */
    private static String agentYaml(String tiers, String providerUrl, String backupProviderUrl) {
        String providers = "  - { name: sim, kind: openai, base-url: \"" + providerUrl + "\" }\n"
                + (backupProviderUrl == null ? "" : "  - { name: sim-backup, kind: openai, base-url: \"" + backupProviderUrl + "\" }\n");
        String targets = backupProviderUrl == null ? "[ { provider: sim } ]" : "[ { provider: sim }, { provider: sim-backup } ]";
        String prices = "  - { provider: sim, model: \"*\", input-per-million: 0.15, output-per-million: 0.6 }\n"
                + (backupProviderUrl == null ? "" : "  - { provider: sim-backup, model: \"*\", input-per-million: 0.15, output-per-million: 0.6 }\n");
        return """
                server: { host: 127.0.0.1, port: 0 }
                tiers:
                %sproviders:
                %sroutes:
                  - model: "*"
                    targets: %s
                prices:
                %s""".formatted(tiers, providers, targets, prices);
    }
}
