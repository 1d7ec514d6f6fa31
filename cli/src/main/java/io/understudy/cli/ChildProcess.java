package io.understudy.cli;

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

/** An Understudy process started by {@code up}: same JVM binary and classpath, output to a log file. */
final class ChildProcess {
    private final String name;
    private final Path log;
    private final Process process;

    private ChildProcess(String name, Path log, Process process) {
        this.name = name;
        this.log = log;
        this.process = process;
    }

    static ChildProcess start(String name, Path logDir, String maxHeap, List<String> args) {
        return start(name, logDir, maxHeap, args, java.util.Map.of());
    }

    /** {@code env}: variables added to the child's environment (a secret it must not get on its command line). */
    static ChildProcess start(String name, Path logDir, String maxHeap, List<String> args, java.util.Map<String, String> env) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>();
        command.add(java);
        command.add("-Xmx" + maxHeap);
        command.add("-XX:+UseSerialGC");
        if (Runtime.version().feature() >= 24) {
            command.add("--sun-misc-unsafe-memory-access=allow"); // gRPC/protobuf warn on every start otherwise
        }
        String aotCache = System.getProperty("understudy.relay-aot-cache", "");
        if (!aotCache.isEmpty() && args.getFirst().equals("relay")) {
            command.add("-XX:AOTCache=" + aotCache); // see relay_aot_cache in bin/lib.sh: same classpath, same GC
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(args);
        Path log = logDir.resolve(name + ".log");
        try {
            Files.createDirectories(logDir);
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().putAll(env);
            Process process = builder.start();
            return new ChildProcess(name, log, process);
        } catch (IOException e) {
            throw new UserError("cannot start " + name + ": " + e.getMessage());
        }
    }

    /** Starts a program that is not ours (etcd), output to its log file. */
    static ChildProcess startExternal(String name, Path logDir, List<String> command) {
        Path log = logDir.resolve(name + ".log");
        try {
            Files.createDirectories(logDir);
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new ChildProcess(name, log, process);
        } catch (IOException e) {
            throw new UserError("cannot start " + name + " (" + command.get(0) + "): " + e.getMessage());
        }
    }

    String name() {
        return name;
    }

    Path log() {
        return log;
    }

    boolean alive() {
        return process.isAlive();
    }

    int exitCode() {
        return process.exitValue();
    }

    /** Waits until {@code url} answers 200, the process dies, or the deadline passes. */
    void awaitReady(URI url, Duration timeout) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        boolean told = false;
        while (System.nanoTime() < deadline) {
            if (!told && System.nanoTime() - start > Duration.ofSeconds(15).toNanos()) {
                System.err.println("understudy: still waiting for " + name + " to be ready (cold JVMs on busy cores)...");
                told = true;
            }
            if (!process.isAlive()) {
                throw new UserError(name + " exited with code " + process.exitValue() + " before it was ready:\n"
                        + tail(20));
            }
            try {
                HttpResponse<Void> response = client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(1)).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UserError("interrupted while waiting for " + name);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UserError("interrupted while waiting for " + name);
            }
        }
        throw new UserError(name + " was not ready within " + timeout.toSeconds() + " s; the end of " + log + ":\n" + tail(20));
    }

    /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
    void stop(Duration grace) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
