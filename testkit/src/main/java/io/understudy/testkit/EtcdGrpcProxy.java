package io.understudy.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * etcd's gRPC proxy ({@code etcd grpc-proxy start}, shipped with Debian's etcd-server) on a free
 * loopback port in front of {@code endpoint}: what a fleet of agents connects to instead of the etcd
 * members, so that one watch per key reaches etcd however many agents watch it.
 */
public final class EtcdGrpcProxy implements AutoCloseable {
    private final int port = Ports.free();
    private final Process process;

    public EtcdGrpcProxy(Path dir, String endpoint) {
        Path log = dir.resolve("grpc-proxy.log");
        List<String> command = List.of("etcd", "grpc-proxy", "start", "--endpoints=" + endpoint.replaceFirst("^https?://", ""),
                "--listen-addr=127.0.0.1:" + port, "--advertise-client-url=127.0.0.1:" + port,
                "--data-dir=" + dir.resolve("grpc-proxy-data"));
        try {
            Files.createDirectories(dir);
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd grpc-proxy (apt-get install etcd-server)", e);
        }
        Await.until("grpc-proxy listening on " + port, Duration.ofSeconds(20), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd grpc-proxy exited; see " + log);
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException notYet) {
                return false;
            }
        });
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
