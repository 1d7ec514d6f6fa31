package io.understudy.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real single-member etcd (Debian's etcd-server) on free loopback ports with its own data
 * directory. Can be stopped and started again on the same ports and data (an etcd outage).
 */
public final class EtcdProcess implements AutoCloseable {
    private final Path dataDir;
    private final Path log;
    private final int clientPort;
    private final int peerPort;
    private Process process;

    public EtcdProcess(Path dir) {
        this.dataDir = dir.resolve("etcd-data");
        this.log = dir.resolve("etcd.log");
        this.clientPort = Ports.free();
        this.peerPort = Ports.free();
        start();
    }

    public static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/etcd"));
    }

    public String endpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    public synchronized void start() {
        String peer = "http://127.0.0.1:" + peerPort;
        List<String> command = List.of("etcd", "--name", "test", "--data-dir", dataDir.toString(),
                "--listen-client-urls", endpoint(), "--advertise-client-urls", endpoint(),
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "test=" + peer, "--initial-cluster-state", "new",
                "--heartbeat-interval", "50", "--election-timeout", "500");
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd (apt-get install etcd-server)", e);
        }
        String[] lastAnswer = {"none"};
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            Await.until("etcd serving on " + clientPort, Duration.ofSeconds(20), () -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("etcd exited; its log:\n" + Logs.tail(log, 30));
                }
                try {
                    var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(endpoint() + "/health"))
                            .timeout(Duration.ofSeconds(1)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                    lastAnswer[0] = r.statusCode() + " " + r.body();
                    return r.statusCode() == 200 && r.body().contains("true"); // serving, not just listening
                } catch (IOException notYet) {
                    lastAnswer[0] = notYet.toString();
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
        } catch (AssertionError notServing) {
            // what etcd said and logged is the diagnosis: keep it in the failure, the temp dir is gone after
            throw new AssertionError(notServing.getMessage() + "; last /health answer: " + lastAnswer[0]
                    + "; its log:\n" + Logs.tail(log, 30), notServing);
        }
    }

    /** Stops etcd (SIGKILL); {@link #start()} brings it back with the same data. */
    public synchronized void stop() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        stop();
    }
}
