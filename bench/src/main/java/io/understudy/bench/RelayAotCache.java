package io.understudy.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The relays' AOT cache for this classpath, trained as {@code bin/understudy} trains it for its own
 * (see {@code relay_aot_cache} in bin/lib.sh): one {@code understudy rehearse} under
 * {@code -XX:AOTCacheOutput}, with the heap and GC the bench's relays run with. The bench starts its
 * relays from it, as {@code up} does, so the standby it measures is the one users get.
 */
final class RelayAotCache {
    private RelayAotCache() {
    }

    /** Trains the cache into {@code dir}; empty on a JDK without AOT caches, or when training failed (said why). */
    static Optional<Path> train(Path dir, String heap) {
        if (Runtime.version().feature() < 25) {
            return Optional.empty();
        }
        Path cache = dir.resolve("relay.aot");
        Path log = dir.resolve("aot-training.log");
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                heap, "-XX:+UseSerialGC", "--sun-misc-unsafe-memory-access=allow", "-XX:AOTCacheOutput=" + cache,
                "-cp", System.getProperty("java.class.path"), "io.understudy.cli.Main", "rehearse"));
        try {
            Files.createDirectories(dir);
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(3, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                System.out.println("bench: no relay AOT cache (training took over 3 minutes); see " + log);
                return Optional.empty();
            }
            if (p.exitValue() != 0 || !Files.exists(cache)) {
                System.out.println("bench: no relay AOT cache (training exited " + p.exitValue() + "); see " + log);
                return Optional.empty();
            }
            return Optional.of(cache);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
