package io.understudy.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;

/** Free loopback ports for things that must be told a port before they start. */
public final class Ports {
    private Ports() {
    }

    /**
     * The first of {@code count} consecutive loopback ports that are free now (for a program that
     * takes a base port, like {@code understudy up --ports-from}), from a bounded number of tries.
     * Drawn below the kernel's ephemeral range: a port in that range can be taken at any moment by an
     * outgoing connection's local end (seen in CI: the agent of a block found its port in use).
     */
    public static int freeBlock(int count) {
        int below = ephemeralLow();
        int from = 10_000;
        if (below - count <= from) {
            throw new IllegalStateException("the ephemeral port range starts at " + below + ": no room below it for a block");
        }
        java.util.Random random = new java.util.Random();
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = from + random.nextInt(below - count - from);
            boolean all = true;
            for (int p = base; p < base + count && all; p++) {
                try (ServerSocket s = new ServerSocket()) {
                    s.setReuseAddress(true);
                    s.bind(new java.net.InetSocketAddress("127.0.0.1", p));
                } catch (IOException busy) {
                    all = false;
                }
            }
            if (all) {
                return base;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports found in 100 tries");
    }

    /** The first port of the kernel's ephemeral range (Linux; 32768 when it cannot be read). */
    private static int ephemeralLow() {
        try {
            // readAllLines, not readString: on JDK 25 readString of this procfs file returned its first byte only
            String range = String.join(" ", java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }

    public static int free() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
