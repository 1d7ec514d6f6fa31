package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code understudy status}: leader, epoch, lease left, and every registered relay and agent. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the leader and every registered relay.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions options;

    @Option(names = "--watch", description = "Show it again every --interval until interrupted (Ctrl-C), or --count times")
    boolean watch;

    @Option(names = "--interval", defaultValue = "PT1S", description = "With --watch: how often (default: ${DEFAULT-VALUE})")
    Duration interval;

    @Option(names = "--count", defaultValue = "0", description = "With --watch: stop after this many views (0: never)")
    int count;

    @Override
    public Integer call() throws InterruptedException {
        if (!watch) {
            return options.run(this::show);
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new UserError("--interval must be positive");
        }
        return options.run(cluster -> {
            int code = 0;
            for (int shown = 0; count <= 0 || shown < count; shown++) {
                if (shown > 0) {
                    Thread.sleep(interval);
                }
                if (!options.json && System.console() != null) {
                    System.out.print("\033[H\033[2J"); // a terminal: redraw in place, as watch(1) does
                }
                code = show(cluster);
                System.out.flush();
            }
            return code;
        });
    }

    private int show(ClusterState cluster) {
        Optional<ClusterState.Leader> leader = cluster.leader();
        List<JsonNode> members = cluster.registered("members");
        if (leader.isEmpty() && members.isEmpty() && cluster.history().isEmpty()) {
            System.err.println("understudy: cluster '" + options.cluster + "' is unknown in etcd (no leader, relay or history)");
            return ClusterOptions.PRECONDITION_FAILED;
        }
        ObjectNode out = Json.object().put("cluster", options.cluster);
        if (leader.isPresent()) {
            long ttl = cluster.leaseSecondsLeft(leader.get().lease());
            out.putObject("leader").put("instance", leader.get().instance()).put("role", leader.get().role())
                    .put("url", leader.get().url()).put("epoch", leader.get().epoch()).put("lease_seconds_left", ttl);
        } else {
            out.putNull("leader");
        }
        ArrayNode relays = out.putArray("relays");
        members.forEach(relays::add);
        ArrayNode agents = out.putArray("agents");
        List<JsonNode> agentViews = cluster.registered("agents");
        agentViews.forEach(agents::add);
        if (options.json) {
            System.out.println(Json.text(out));
            return 0;
        }
        System.out.println("cluster  " + options.cluster);
        System.out.println("leader   " + leader.map(l -> l.instance() + " (" + l.role() + "), epoch " + l.epoch()
                + ", lease " + out.path("leader").path("lease_seconds_left").asLong() + " s left").orElse("none (vacant)"));
        System.out.println();
        System.out.printf("%-14s %-8s %-13s %-6s %-9s %s%n", "RELAY", "ROLE", "LEADERSHIP", "EPOCH", "SEEN", "URL");
        long now = System.currentTimeMillis();
        for (JsonNode m : members) {
            // a registration lives on its relay's lease: a dead relay leaves within one TTL, last seen until then
            String seen = String.format(java.util.Locale.ROOT, "%.1f s ago", Math.max(0, now - m.path("updated_ms").asLong(now)) / 1000.0);
            System.out.printf("%-14s %-8s %-13s %-6s %-9s %s%n", m.path("instance").asText(), m.path("role").asText(),
                    m.path("leadership").asText(), m.path("epoch").asLong(), seen, m.path("url").asText());
        }
        for (JsonNode m : members) { // each relay's last leadership cycle, in its own words
            if (!m.path("cycle").asText("").isEmpty()) {
                System.out.println("  " + m.path("instance").asText() + ": " + m.path("cycle").asText());
            }
        }
        if (!agentViews.isEmpty()) {
            System.out.println();
            System.out.printf("%-28s %-14s %-6s %s%n", "AGENT", "SEES LEADER", "EPOCH", "SINCE");
            for (JsonNode a : agentViews) {
                System.out.printf("%-28s %-14s %-6s %s%n", a.path("agent").asText(), a.path("leader").asText("-"),
                        a.path("epoch").asLong(), a.path("learnt_at").asText("-"));
            }
        }
        return 0;
    }
}
