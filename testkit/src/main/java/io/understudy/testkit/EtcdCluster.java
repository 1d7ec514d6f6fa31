package io.understudy.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real 3-member etcd cluster on free loopback ports; members can be killed one by one. */
public final class EtcdCluster implements AutoCloseable {
    private final List<Process> members = new ArrayList<>();
    private final List<Integer> clientPorts = new ArrayList<>();

    public EtcdCluster(Path dir, int size) {
        // ports are picked before etcd binds them, so one can be taken meanwhile (a member then exits
        // at once): start again on fresh ports and data, a bounded number of times
        for (int attempt = 1; ; attempt++) {
            try {
                start(dir.resolve("try" + attempt), size);
                return;
            } catch (IllegalStateException | AssertionError e) {
                close();
                members.clear();
                clientPorts.clear();
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    private void start(Path dir, int size) {
        List<Integer> peerPorts = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            clientPorts.add(Ports.free());
            peerPorts.add(Ports.free());
        }
        StringBuilder initial = new StringBuilder();
        for (int i = 0; i < size; i++) {
            initial.append(i == 0 ? "" : ",").append("m").append(i).append("=http://127.0.0.1:").append(peerPorts.get(i));
        }
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = 0; i < size; i++) {
            String client = "http://127.0.0.1:" + clientPorts.get(i);
            String peer = "http://127.0.0.1:" + peerPorts.get(i);
            try {
                members.add(new ProcessBuilder("etcd", "--name", "m" + i, "--data-dir", dir.resolve("m" + i).toString(),
                        "--listen-client-urls", client, "--advertise-client-urls", client,
                        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                        "--initial-cluster", initial.toString(), "--initial-cluster-state", "new",
                        "--heartbeat-interval", "50", "--election-timeout", "500")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("m" + i + ".log").toFile()))
                        .start());
            } catch (IOException e) {
                close();
                throw new UncheckedIOException("cannot start etcd (apt-get install etcd-server)", e);
            }
        }
        HttpClient http = HttpClient.newHttpClient();
        for (int m = 0; m < size; m++) {
            int port = clientPorts.get(m);
            Process member = members.get(m);
            Await.until("etcd member on " + port + " healthy", Duration.ofSeconds(30), () -> {
                if (!member.isAlive()) {
                    return true; // reported below, at once rather than after the deadline
                }
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                    return r.statusCode() == 200 && r.body().contains("true");
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
            if (!member.isAlive()) {
                throw new IllegalStateException("etcd member on " + port + " exited (see " + dir + ")");
            }
        }
    }

    /** Every member's client URL. */
    public List<String> endpoints() {
        return clientPorts.stream().map(p -> "http://127.0.0.1:" + p).toList();
    }

    /** SIGKILL one member. */
    public void kill(int member) {
        Process p = members.get(member);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < members.size(); i++) {
            kill(i);
        }
    }
}
