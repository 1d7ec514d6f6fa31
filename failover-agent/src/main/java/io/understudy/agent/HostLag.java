package io.understudy.agent;

import io.understudy.core.failover.HostStall;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Watches whether this host can run probes on time. A platform thread and a virtual thread each
 * sleep {@link #TICK} again and again and note how late they woke: the platform one sees the OS
 * fall behind, the virtual one sees the agent's carrier threads busy (probe calls and the reads of
 * every answer run on virtual threads, so while they queue, neither a probe's timeout nor "nothing
 * came back" says anything about the upstream). {@link #stallSince} sums that lateness over a span,
 * so the rule ({@link HostStall}) can weigh it against the span: a few late ticks on a loaded host
 * do not excuse a relay that stayed silent for most of a probe. Every
 * {@link #CPU_EVERY} ticks the platform thread also reads the host's CPU load and notes when it was
 * {@link #SATURATED} or more (other processes, such as a cold standby on the same host, may be
 * starved although the agent is not). A probe that timed out meanwhile may say more about this
 * host than about the upstream. Gathers input only; the rule lives in
 * {@link InstanceHealth#hostExcuse}, which lets CPU load excuse only an idle upstream: on a host
 * that also runs the relays, as {@code bin/understudy up} does, the load is high under ordinary
 * traffic and must not hide a relay that went silent with requests in flight.
 */
final class HostLag implements AutoCloseable {
    static final Duration TICK = Duration.ofMillis(20);
    /** A wake-up this late is counted as the host falling behind (and kept for {@link #stallSince}). */
    static final Duration NOTABLE = Duration.ofMillis(5);
    /** The worst lateness is reported from this much on. */
    static final Duration LATE = Duration.ofMillis(50);
    static final int CPU_EVERY = 10;
    static final double SATURATED = 0.9;

    private final LongSupplier clockMillis;
    private final DoubleSupplier cpuLoad;
    private final Thread thread;
    private final Thread virtualTicker;
    private final Lateness platform;
    private final Lateness virtual;
    private volatile long lastSaturatedMillis = Long.MIN_VALUE;
    private volatile long worstLagMillis;
    private volatile boolean running = true;

    /** {@code cpuLoad}: the host's recent CPU load from 0 to 1, negative when unknown. */
    HostLag(LongSupplier clockMillis, DoubleSupplier cpuLoad) {
        this.clockMillis = clockMillis;
        this.cpuLoad = cpuLoad;
        this.platform = new Lateness(clockMillis.getAsLong());
        this.virtual = new Lateness(clockMillis.getAsLong());
        this.thread = Thread.ofPlatform().daemon(true).name("host-lag").start(this::loop);
        this.virtualTicker = Thread.ofVirtual().name("host-lag-virtual").start(this::virtualLoop);
    }

    /** The whole host's CPU load as the JVM reports it (container-aware), or -1 where it cannot. */
    static DoubleSupplier systemCpuLoad() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os::getCpuLoad;
        }
        return () -> -1;
    }

    private void loop() {
        for (long tick = 0; running && sleptOneTick(platform); tick++) {
            if (tick % CPU_EVERY == 0 && cpuLoad.getAsDouble() >= SATURATED) {
                lastSaturatedMillis = clockMillis.getAsLong();
            }
        }
    }

    private void virtualLoop() {
        while (running && sleptOneTick(virtual)) {
            // each wake-up is noted by sleptOneTick
        }
    }

    /** Sleeps one tick and notes how late it woke; false when interrupted (closing). */
    private boolean sleptOneTick(Lateness ticker) {
        long before = System.nanoTime();
        try {
            Thread.sleep(TICK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        long lateMillis = (System.nanoTime() - before - TICK.toNanos()) / 1_000_000;
        ticker.woke(clockMillis.getAsLong(), lateMillis >= NOTABLE.toMillis() ? lateMillis : 0);
        if (lateMillis >= LATE.toMillis()) {
            worstLagMillis = Math.max(worstLagMillis, lateMillis);
        }
        return true;
    }

    /**
     * How much time since {@code sinceMillis} the agent's threads lost, by the worse of the two
     * tickers: the lateness of their wake-ups since then, and how overdue one is right now (a ticker
     * stuck behind saturated carriers notes its lateness only when it finally runs, which may be after
     * the probe that needs to know).
     */
    HostStall stallSince(long sinceMillis) {
        long now = clockMillis.getAsLong();
        long lost = running ? Math.max(platform.lostSince(sinceMillis, now), virtual.lostSince(sinceMillis, now)) : 0;
        return new HostStall(lost, now - sinceMillis);
    }

    /** Whether the host's CPU was saturated at any reading since {@code sinceMillis}. */
    boolean saturatedSince(long sinceMillis) {
        return lastSaturatedMillis >= sinceMillis;
    }

    /** The longest a tick has woken late since start, in ms (0: never {@link #LATE}). */
    long worstLagMillis() {
        return worstLagMillis;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        virtualTicker.interrupt();
    }

    /** The late wake-ups of one ticker (the last {@link #KEPT}), and when it last woke. */
    private static final class Lateness {
        private static final int KEPT = 256;
        private final long[] wokeAt = new long[KEPT];
        private final long[] late = new long[KEPT];
        private int next;
        private long lastWoke;

        Lateness(long startMillis) {
            lastWoke = startMillis;
        }

        synchronized void woke(long atMillis, long lateMillis) {
            lastWoke = atMillis;
            if (lateMillis > 0) {
                wokeAt[next] = atMillis;
                late[next] = lateMillis;
                next = (next + 1) % KEPT;
            }
        }

        /** Lateness that fell after {@code since} (a wake-up's lateness ends when it woke), plus the overdue now. */
        synchronized long lostSince(long since, long now) {
            long lost = 0;
            for (int i = 0; i < KEPT; i++) {
                if (late[i] > 0 && wokeAt[i] > since) {
                    lost += Math.min(late[i], wokeAt[i] - since);
                }
            }
            long overdue = now - Math.max(lastWoke + TICK.toMillis(), since);
            return lost + Math.max(0, overdue);
        }
    }
}
