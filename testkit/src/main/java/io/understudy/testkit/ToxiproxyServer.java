package io.understudy.testkit;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.ToxiproxyClient;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real Toxiproxy server (v2.12.0, installed by {@code bin/test}) on a free loopback port, with
 * its client. Every proxy it creates listens on a free loopback port too.
 */
public final class ToxiproxyServer implements AutoCloseable {
    private final Process process;
    private final ToxiproxyClient client;

    public ToxiproxyServer(Path dir) {
        Path binary = binary();
        int port = Ports.free();
        try {
            Files.createDirectories(dir);
            ProcessBuilder builder = new ProcessBuilder(binary.toString(), "-host", "127.0.0.1", "-port", String.valueOf(port));
            builder.environment().put("LOG_LEVEL", "info");
            process = builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("toxiproxy.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        client = new ToxiproxyClient("127.0.0.1", port);
        Await.until("toxiproxy on " + port, Duration.ofSeconds(15), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("toxiproxy exited; see " + dir.resolve("toxiproxy.log"));
            }
            try {
                return !client.version().isEmpty();
            } catch (IOException notYet) {
                return false;
            }
        });
    }

    /** The server binary: the one bin/test installed, else toxiproxy-server on the PATH. */
    public static Path binary() {
        Optional<Path> installed = Optional.ofNullable(System.getProperty("understudy.toxiproxy")).map(Path::of)
                .filter(Files::isExecutable);
        if (installed.isPresent()) {
            return installed.get();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "toxiproxy-server");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no Toxiproxy server: run bin/test, which installs it with "
                + "'go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0', or put toxiproxy-server on the PATH");
    }

    /** A proxy named {@code name} on a free port in front of {@code upstreamPort}. */
    public Proxy proxy(String name, int upstreamPort) {
        try {
            return client.createProxy(name, "127.0.0.1:" + Ports.free(), "127.0.0.1:" + upstreamPort);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create proxy " + name, e);
        }
    }

    /**
     * Takes every toxic off a proxy by deleting it and creating it again, on the same port in front of
     * the same upstream: its connections are closed, new ones pass clean. Removing or updating a toxic
     * that passes held data on when interrupted (latency, slicer) can deadlock Toxiproxy 2.12 for good:
     * the API holds the proxy's toxic lock while it waits for each connection's toxic to pass its data
     * on; a connection whose client has gone no longer takes that data, and its removal from the proxy
     * waits for the same lock. The API answered 503 after 25 s (CI run 116, scenario 03); by its code
     * it keeps the lock after. Deleting a proxy closes its connections without that lock.
     */
    public void recreate(Proxy proxy) {
        try {
            proxy.delete();
            client.createProxy(proxy.getName(), proxy.getListen(), proxy.getUpstream());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recreate proxy " + proxy.getName(), e);
        }
    }

    /** The port a proxy listens on. */
    public static int port(Proxy proxy) {
        String listen = proxy.getListen();
        return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
