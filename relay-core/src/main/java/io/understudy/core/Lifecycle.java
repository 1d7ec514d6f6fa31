package io.understudy.core;

import java.util.concurrent.CountDownLatch;

/** How every Understudy process runs: announce the port on stdout, then serve until SIGTERM. */
public final class Lifecycle {
    private Lifecycle() {
    }

    /**
     * Prints {@code understudy-NAME listening port=N} (launchers and tests read it, so port 0 works),
     * closes {@code service} on shutdown, and blocks until then.
     */
    public static void serveUntilShutdown(String name, int port, AutoCloseable service) {
        System.out.println("understudy-" + name + " listening port=" + port);
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
            } catch (Exception ignored) {
                // exiting anyway
            }
            stopped.countDown();
        }, "shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
