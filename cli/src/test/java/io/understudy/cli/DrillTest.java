package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.testkit.Await;
import io.understudy.testkit.Logs;
import io.understudy.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code understudy drill} against the appliance {@code understudy up} starts (its shipped configs,
 * moved to free ports with --ports-from), each a real process: a drill that is not confirmed touches
 * nothing; a confirmed one moves traffic to the standby, through a switchover and to the direct
 * tier and back, and reports no failed request.
 */
class DrillTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;

    @Test
    void aDrillOnUpsApplianceMovesTrafficAwayAndBackWithoutAFailedRequest() throws Exception {
        int base = Ports.freeBlock(6);
        Path state = dir.resolve("state");
        String agent = "http://127.0.0.1:" + (base + 3);
        String etcd = "http://127.0.0.1:" + (base + 4);
        Process up = java(dir.resolve("up.log"), "up", "--sim", "--ports-from", String.valueOf(base), "--state-dir", state.toString());
        try {
            Await.until("up's appliance ready, its agent following a leader", Duration.ofSeconds(120), () -> {
                if (!up.isAlive()) {
                    throw new AssertionError("up exited: " + Logs.tail(dir.resolve("up.log"), 30));
                }
                JsonNode status = json(get(agent + "/status", null));
                return !status.path("leader").path("instance").isNull() && !status.path("leader").path("instance").isMissingNode();
            });
            Path token = state.resolve("admin-token");
            assertEquals(Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE),
                    Files.getPosixFilePermissions(token), "the admin token is readable by its owner only");
            List<String> common = List.of("drill", "--agent", agent, "--etcd", etcd, "--admin-token-file", token.toString(),
                    "--rate", "10", "--baseline", "PT3S", "--hold", "PT4S", "--settle", "PT3S");

            List<String> unconfirmed = new ArrayList<>(common);
            unconfirmed.addAll(List.of("--report", dir.resolve("unconfirmed").toString()));
            Process asked = java(dir.resolve("unconfirmed.log"), unconfirmed.toArray(String[]::new));
            asked.getOutputStream().close(); // no one to answer
            assertTrue(asked.waitFor(60, TimeUnit.SECONDS));
            assertEquals(2, asked.exitValue(), Logs.tail(dir.resolve("unconfirmed.log"), 30));
            assertTrue(Files.readString(dir.resolve("unconfirmed.log")).contains("--yes"), "it says how to run unattended");
            assertEquals(0, json(get(agent + "/admin/avoid", Files.readString(token).trim())).path("avoided").size(),
                    "nothing was left avoided");

            List<String> confirmed = new ArrayList<>(common);
            confirmed.addAll(List.of("--yes", "--direct", "--max-errors", "0", "--max-added-latency", "PT2S",
                    "--report", dir.resolve("report").toString()));
            Process drill = java(dir.resolve("drill.log"), confirmed.toArray(String[]::new));
            assertTrue(drill.waitFor(180, TimeUnit.SECONDS), "the drill ends");
            String output = Files.readString(dir.resolve("drill.log"));
            assertEquals(0, drill.exitValue(), output);

            List<String> rows = Files.readAllLines(dir.resolve("report").resolve("requests.csv"));
            assertTrue(rows.size() > 200, "about 10 requests a second for 30 s and more: " + rows.size());
            TreeSet<String> tiers = new TreeSet<>();
            for (String row : rows.subList(1, rows.size())) {
                String[] f = row.split(",", 8);
                assertEquals("200", f[4], "every drill request answered: " + row);
                assertEquals("\"\"", f[7], "and whole: " + row);
                tiers.add(f[5]);
            }
            assertEquals(new TreeSet<>(List.of("direct", "primary", "standby")), tiers, "each step moved traffic");
            String md = Files.readString(dir.resolve("report").resolve("report.md"));
            assertTrue(md.contains("Verdict: **passed**") && md.contains("Switchover to standby and back"), md);
            assertTrue(Files.readString(dir.resolve("report").resolve("report.html")).contains("<svg"));
        } finally {
            up.destroy(); // SIGTERM: up stops its parts
            if (!up.waitFor(60, TimeUnit.SECONDS)) {
                up.descendants().forEach(ProcessHandle::destroyForcibly);
                up.destroyForcibly();
            }
        }
    }

    /** The CLI's Main in a JVM of its own, with this test's classpath, its output to {@code log}. */
    private static Process java(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private String get(String url, String token) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException(url + " answered " + r.statusCode() + ": " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode json(String text) {
        try {
            return Json.parse(text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
