package io.understudy.dist;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.core.config.ShippedConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdProcess;
import io.understudy.testkit.Logs;
import io.understudy.testkit.Ports;
import org.junit.jupiter.api.BeforeAll;
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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distribution as an SRE installs it: {@code bin/understudy dist}'s tarball (built here by the
 * same function, from the jars this build packaged), unpacked into an empty directory and run with
 * no JAVA_HOME and nothing on PATH: provider-sim, a primary relay and an agent, each from the
 * tarball's launchers on the shipped configs (addresses moved), and a request through both.
 */
class DistTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    /** Where the tarball is built and unpacked, once for the class. */
    @TempDir
    static Path built;
    /** The unpacked tarball: what an SRE has in /opt/understudy. */
    private static Path app;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void buildAndUnpackTheTarball() throws Exception {
        Path dir = built;
        Path buildLog = dir.resolve("build.log");
        Process build = new ProcessBuilder("bash", "-c", "source bin/lib.sh && find_java && build_dist \"$1\"", "build-dist",
                dir.resolve("out").toString()).directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(buildLog.toFile()).start();
        assertTrue(build.waitFor(5, TimeUnit.MINUTES), "the build ends");
        assertEquals(0, build.exitValue(), Logs.tail(buildLog, 30));
        List<String> output = Files.readAllLines(buildLog);
        Path tarball = Path.of(output.get(output.size() - 1));
        assertTrue(tarball.getFileName().toString().matches("understudy-[0-9][^/]*-linux-[a-z0-9_]+\\.tar\\.gz"), tarball.toString());

        Path host = Files.createDirectories(dir.resolve("host"));
        Process untar = new ProcessBuilder("tar", "-xzf", tarball.toString(), "-C", host.toString()).inheritIO().start();
        assertTrue(untar.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, untar.exitValue());
        try (Stream<Path> entries = Files.list(host)) {
            app = entries.findFirst().orElseThrow();
        }
    }

    @Test
    void theTarballRunsARelayAndAnAgentOnAHostWithoutAJdk() throws Exception {
        assertTrue(Files.isExecutable(app.resolve("runtime/bin/java")), "a Java runtime of its own");
        assertFalse(Files.exists(app.resolve("runtime/bin/javac")), "a runtime, not a JDK");
        // the container images unpack this tarball at /opt/understudy-*: their entry point is in it
        for (String line : Files.readAllLines(ROOT.resolve("deploy/container/Containerfile"))) {
            if (line.startsWith("ENTRYPOINT")) {
                String entry = line.replaceAll(".*\\[\"/opt/understudy/([^\"]+)\".*", "$1");
                assertTrue(Files.isExecutable(app.resolve(entry)), "the images' entry point " + entry + " is in the tarball");
            }
        }

        try (EtcdProcess etcd = new EtcdProcess(Files.createDirectories(dir.resolve("etcd")))) {
            int simPort = Ports.free();
            int primaryPort = Ports.free();
            int agentPort = Ports.free();
            ShippedConfig.Addresses primaryAt = new ShippedConfig.Addresses(primaryPort, primaryPort, Ports.free(), simPort,
                    List.of(etcd.endpoint()), "dist");
            Path primaryYaml = Files.writeString(dir.resolve("primary.yaml"), ShippedConfig.moved("primary.yaml", primaryAt));
            Path agentYaml = Files.writeString(dir.resolve("agent.yaml"), ShippedConfig.moved("agent.yaml",
                    new ShippedConfig.Addresses(agentPort, primaryPort, primaryAt.standbyPort(), simPort, List.of(etcd.endpoint()), "dist")));

            Process sim = launch(app, "understudy-sim", "--port", String.valueOf(simPort));
            Process relay = launch(app, "understudy-relay", "--role", "primary", "--config", primaryYaml.toString());
            Process agent = launch(app, "understudy-agent", "--config", agentYaml.toString());
            String base = "http://127.0.0.1:" + agentPort;
            Await.until("the agent from the tarball sees the relay up", Duration.ofSeconds(60), () -> {
                if (!agent.isAlive() || !relay.isAlive() || !sim.isAlive()) {
                    throw new AssertionError("a part exited:\n" + Logs.tail(dir.resolve("understudy-agent.log"), 20) + "\n"
                            + Logs.tail(dir.resolve("understudy-relay.log"), 20));
                }
                for (JsonNode tier : json(get(base + "/status")).path("tiers")) {
                    for (JsonNode u : tier.path("upstreams")) {
                        if (u.path("name").asText().equals("primary-1")) {
                            return u.path("health").asText().equals("up");
                        }
                    }
                }
                return false;
            });
            for (Process p : List.of(sim, relay, agent)) { // the launcher has exec'd the runtime by now
                String command = p.info().command().orElse("");
                assertTrue(command.startsWith(app.toString()), "runs on the tarball's runtime: " + command);
            }
            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                            + "\"content\":\"from the tarball\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), answer.body());
            assertEquals("primary-1", answer.headers().firstValue("x-understudy-upstream").orElse(""), "through the relay");
        } finally {
            for (Process p : started) {
                p.destroy();
            }
            for (Process p : started) {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    /**
     * The tarball's systemd units, with {@code /opt/understudy} where this test unpacked it: {@code
     * systemd-analyze verify} finds them valid and their commands present in the tarball, and
     * {@code systemd-analyze security} rates their exposure 2.5 or less ("OK" in its words).
     */
    @Test
    void theTarballsSystemdUnitsVerifyAndAreHardened() throws Exception {
        Path units = Files.createDirectories(dir.resolve("units"));
        for (String unit : List.of("understudy-relay@.service", "understudy-agent.service")) {
            String text = Files.readString(app.resolve("systemd").resolve(unit));
            assertTrue(text.contains("ExecReload=/bin/kill -HUP $MAINPID"), unit + " reloads by SIGHUP");
            assertTrue(text.contains("Restart=on-failure"), unit + " restarts on failure");
            assertTrue(text.contains("EnvironmentFile=-/etc/understudy/"), unit + " takes its secrets from an environment file");
            assertFalse(text.matches("(?s).*(?m)^Environment=.*(KEY|TOKEN|PASSWORD).*"), unit + " holds no secret itself");
            assertFalse(text.matches("(?s).*(?m)^MemoryDenyWriteExecute=yes.*"), "the JIT needs writable code memory");
            Files.writeString(units.resolve(unit), text.replace("/opt/understudy/", app + "/"));
        }
        Files.copy(units.resolve("understudy-relay@.service"), units.resolve("understudy-relay@primary.service"));
        Files.copy(units.resolve("understudy-relay@.service"), units.resolve("understudy-relay@standby.service"));
        List<String> instances = List.of("understudy-relay@primary.service", "understudy-relay@standby.service",
                "understudy-agent.service");
        List<String> verify = new ArrayList<>(List.of("systemd-analyze", "verify"));
        instances.forEach(u -> verify.add(units.resolve(u).toString()));
        Run checked = run(verify);
        assertEquals(0, checked.exit(), "systemd-analyze verify: " + checked.output());
        assertEquals("", checked.output().strip(), "no warnings");
        for (String u : instances) {
            Run security = run(List.of("systemd-analyze", "security", "--offline=true", "--threshold=25",
                    units.resolve(u).toString()));
            assertEquals(0, security.exit(), u + " exposure above 2.5:\n" + security.output());
        }
    }

    private record Run(int exit, String output) {
    }

    private Run run(List<String> command) throws Exception {
        Path out = Files.createTempFile(dir, "run", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end within 60 s");
        }
        return new Run(p.exitValue(), Files.readString(out));
    }

    /** One of the tarball's launchers, with no JAVA_HOME and an empty PATH: nothing of this machine's Java. */
    private Process launch(Path app, String launcher, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(app.resolve("bin").resolve(launcher).toString()));
        command.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(launcher + ".log").toFile());
        b.environment().clear();
        b.environment().put("PATH", Files.createDirectories(dir.resolve("empty-path")).toString());
        b.environment().put("HOME", dir.toString());
        Process p = b.start();
        started.add(p);
        return p;
    }

    private static JsonNode json(String text) {
        try {
            return Json.parse(text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private String get(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
