package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code understudy history}: the audit log of leadership changes kept in etcd. */
@Command(name = "history", mixinStandardHelpOptions = true, description = "Leadership changes: when, from, to, epoch, who, why.")
final class HistoryCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions options;

    @Override
    public Integer call() throws InterruptedException {
        return options.run(this::show);
    }

    private int show(ClusterState cluster) {
        List<JsonNode> history = cluster.history();
        if (options.json) {
            var array = Json.array();
            history.forEach(array::add);
            System.out.println(Json.text(array));
            return 0;
        }
        System.out.printf("%-25s %-12s %-12s %-6s %-10s %s%n", "WHEN", "FROM", "TO", "EPOCH", "WHO", "WHY");
        for (JsonNode h : history) {
            System.out.printf("%-25s %-12s %-12s %-6s %-10s %s%n", h.path("time").asText(),
                    h.path("from").asText().isEmpty() ? "-" : h.path("from").asText(), h.path("to").asText(),
                    h.path("epoch").asLong(), h.path("who").asText(), h.path("why").asText());
        }
        return 0;
    }
}
