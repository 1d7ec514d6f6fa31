package io.understudy.testkit;

import java.util.Optional;

/**
 * Agent configurations that more than one test suite runs, written once: the functional tests in
 * failover-agent and the chaos suite start the same topology from the same text.
 */
public final class Topologies {
    private Topologies() {
    }

    /**
     * The agent alone (no relays, no etcd): one direct tier with provider {@code sim} at
     * {@code simBaseUrl} and, when given, provider {@code backup} after it. Every setting not about
     * addresses is left to the defaults. {@code models} is the body of the {@code models:} list;
     * {@code routes} are route entries matched before the catch-all one.
     */
    public static String agentAlone(String simBaseUrl, Optional<String> backupBaseUrl, String routes, String models) {
        String backupProvider = backupBaseUrl.map(u -> "\n  - { name: backup, kind: openai, base-url: \"" + u + "/v1\" }").orElse("");
        String backupTarget = backupBaseUrl.map(u -> ", { provider: backup }").orElse("");
        String backupPrice = backupBaseUrl.map(u -> "\n  - { provider: backup, model: \"*\", input-per-million: 1, output-per-million: 2 }").orElse("");
        return """
                server: { host: 127.0.0.1, port: 0 }
                tiers:
                  - name: direct
                    kind: direct
                providers:
                  - { name: sim, kind: openai, base-url: "%s/v1" }%s
                routes:
                %s
                  - model: "*"
                    targets: [ { provider: sim }%s ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 1, output-per-million: 2 }%s
                models:
                %s
                """.formatted(simBaseUrl, backupProvider, routes, backupTarget, backupPrice, models);
    }

    /**
     * An agent in front of relays primary-1 and standby-1 on loopback ports, one tier each, with
     * {@code probe} as both tiers' probe settings (YAML flow map; empty: the defaults) and {@code extra}
     * appended (an {@code agent:} or {@code etcd:} section).
     */
    public static String agentOnRelays(int primaryPort, int standbyPort, String probe, String extra) {
        String probeLine = probe.isEmpty() ? "" : "\n    probe: " + probe;
        return """
                server: { host: 127.0.0.1, port: 0 }
                tiers:
                  - name: primary
                    kind: relay%s
                    instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                  - name: standby
                    kind: relay%s
                    instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                %s
                """.formatted(probeLine, primaryPort, probeLine, standbyPort, extra);
    }

    /**
     * A relay in front of one provider named {@code provider} at {@code simBaseUrl}, serving every
     * model from it, with {@code extra} appended (top-level sections).
     */
    public static String relayOnSim(String simBaseUrl, String provider, String extra) {
        return """
                server: { host: 127.0.0.1, port: 0 }
                relay: { drain-bound: PT5S }
                providers:
                  - { name: %s, kind: openai, base-url: "%s/v1", read-timeout: PT5S }
                routes:
                  - model: "*"
                    targets: [ { provider: %s } ]
                %s""".formatted(provider, simBaseUrl, provider, extra);
    }
}
