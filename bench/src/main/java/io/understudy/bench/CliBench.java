package io.understudy.bench;

import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.testkit.EtcdProcess;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/bench --cli}: how long the operator commands take as a user runs them: {@code
 * bin/understudy <command>}, a fresh JVM each time, against a real etcd holding a cluster (a leader
 * on a lease, two registered relays, a history). The first run of each command writes its
 * class-data archive and is reported apart; the target (issue 12) is a median of 0.5 s at most.
 * {@code promote} and {@code switchover} start the same way; what they add is the handover they
 * wait for.
 */
final class CliBench {
    private static final String CLUSTER = "bench";
    private static final long TARGET_MEDIAN_MS = 500;

    private CliBench() {
    }

    static Path run(Path root, Path out, int runs) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("understudy-cli-bench");
        List<String> lines = new ArrayList<>();
        lines.add("# Operator CLI start-to-exit time, " + LocalDate.now());
        lines.add("");
        lines.add("`bin/bench --cli`: `bin/understudy <command> --etcd <local etcd> --cluster " + CLUSTER + "`, " + runs
                + " runs each after a first run that writes the command's class-data archive. Machine: "
                + Runtime.getRuntime().availableProcessors() + " cores.");
        lines.add("");
        lines.add("| command | first run ms | median ms | p90 ms | max ms | median within " + TARGET_MEDIAN_MS + " ms |");
        lines.add("|---|---|---|---|---|---|");
        try (EtcdProcess etcdProcess = new EtcdProcess(dir);
             Etcd etcd = new Etcd(new EtcdSettings(List.of(URI.create(etcdProcess.endpoint())), CLUSTER, Optional.empty(),
                     Optional.empty(), Optional.empty(), Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(2)))) {
            Runnable freshRegistrations = seed(etcd);
            for (List<String> command : List.of(List.of("status"), List.of("status", "--json"), List.of("history"))) {
                Files.deleteIfExists(root.resolve("cli/target/cds/" + command.get(0) + ".jsa"));
                freshRegistrations.run();
                long first = timeOnce(root, etcdProcess.endpoint(), command);
                long[] times = new long[runs];
                for (int i = 0; i < runs; i++) {
                    freshRegistrations.run(); // as live relays keep theirs (status hides stale ones)
                    times[i] = timeOnce(root, etcdProcess.endpoint(), command);
                }
                Arrays.sort(times);
                long median = times[runs / 2];
                String line = "| `" + String.join(" ", command) + "` | " + first + " | " + median + " | "
                        + times[(int) Math.ceil(runs * 0.9) - 1] + " | " + times[runs - 1] + " | "
                        + (median <= TARGET_MEDIAN_MS ? "yes" : "**no**") + " |";
                System.out.println("bench: " + line);
                lines.add(line);
            }
        }
        Files.createDirectories(out);
        Path file = out.resolve(LocalDate.now() + "-cli.md");
        Files.write(file, lines);
        return file;
    }

    /**
     * A cluster worth showing: primary-1 leading on a lease, three history entries; returns what
     * registers the two relays afresh.
     */
    private static Runnable seed(Etcd etcd) {
        ClusterState cluster = new ClusterState(etcd);
        long lease = etcd.await(etcd.client().getLeaseClient().grant(3600)).getID();
        etcd.await(etcd.client().getElectionClient().campaign(etcd.electionName(), lease,
                Etcd.bytes("{\"instance\":\"primary-1\",\"role\":\"primary\",\"url\":\"http://127.0.0.1:8081/v1\"}")));
        for (int epoch = 1; epoch <= 3; epoch++) {
            cluster.appendHistory(epoch, Json.object().put("time", "2026-12-02T00:00:0" + epoch + "Z").put("from", "a")
                    .put("to", "b").put("epoch", epoch).put("who", "bench").put("why", "seeded"));
        }
        return () -> {
            for (String relay : List.of("primary-1", "standby-1")) {
                cluster.register("members", relay, Json.object().put("instance", relay).put("role", relay.replace("-1", ""))
                        .put("leadership", relay.startsWith("primary") ? "leader" : "cold").put("url", "http://127.0.0.1/v1")
                        .put("cycle", "bench").put("updated_ms", System.currentTimeMillis()), lease);
            }
        };
    }

    private static long timeOnce(Path root, String endpoint, List<String> command) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(root.resolve("bin/understudy").toString()));
        argv.addAll(command);
        argv.addAll(List.of("--etcd", endpoint, "--cluster", CLUSTER));
        long start = System.nanoTime();
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not exit within 60 s");
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + p.exitValue());
        }
        return ms;
    }
}
