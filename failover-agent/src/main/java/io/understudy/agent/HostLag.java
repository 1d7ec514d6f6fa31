package io.understudy.agent;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Watches whether this host runs the agent's threads on time: a platform thread sleeps
 * {@link #TICK} again and again and notes when it woke {@link #LATE} or more late. A probe that
 * timed out meanwhile says more about this host than about the upstream (see
 * {@link InstanceHealth}). Gathers input only; the rule lives in the health state machine.
 * (CPU load is not used: on a host that also runs the relays, as {@code bin/understudy up} does,
 * it is high under ordinary load and would hide a relay that really went silent.)
 */
final class HostLag implements AutoCloseable {
    static final Duration TICK = Duration.ofMillis(20);
    static final Duration LATE = Duration.ofMillis(50);

    private final LongSupplier clockMillis;
    private final Thread thread;
    private volatile long lastLateMillis = Long.MIN_VALUE;
    private volatile long worstLagMillis;
    private volatile boolean running = true;

    HostLag(LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        this.thread = Thread.ofPlatform().daemon(true).name("host-lag").start(this::loop);
    }

    private void loop() {
        while (running) {
            long before = System.nanoTime();
            try {
                Thread.sleep(TICK);
            } catch (InterruptedException e) {
                return;
            }
            long lateMillis = (System.nanoTime() - before - TICK.toNanos()) / 1_000_000;
            if (lateMillis >= LATE.toMillis()) {
                lastLateMillis = clockMillis.getAsLong();
                worstLagMillis = Math.max(worstLagMillis, lateMillis);
            }
        }
    }

    /** Whether this host fell behind on the agent's threads at any point since {@code sinceMillis}. */
    boolean congestedSince(long sinceMillis) {
        return lastLateMillis >= sinceMillis;
    }

    /** The longest a tick has woken late since start, in ms (0: never late). */
    long worstLagMillis() {
        return worstLagMillis;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
