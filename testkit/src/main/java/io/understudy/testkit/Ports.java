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
     */
    public static int freeBlock(int count) {
        java.util.Random random = new java.util.Random();
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = 20_000 + random.nextInt(30_000);
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

    public static int free() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
