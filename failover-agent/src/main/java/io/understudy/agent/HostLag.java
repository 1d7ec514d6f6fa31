package io.understudy.agent;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Watches whether this host can run probes on time. A platform thread and a virtual thread each
 * sleep {@link #TICK} again and again and note when they woke {@link #LATE} or more late: the
 * platform one sees the OS fall behind, the virtual one sees the agent's carrier threads busy
 * (probe calls and the reads of every answer run on virtual threads, so while they queue, neither
 * a probe's timeout nor "nothing came back" says anything about the upstream). Every
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
    static final Duration LATE = Duration.ofMillis(50);
    static final int CPU_EVERY = 10;
    static final double SATURATED = 0.9;

    private final LongSupplier clockMillis;
    private final DoubleSupplier cpuLoad;
    private final Thread thread;
    private final Thread virtualTicker;
    private volatile long lastLateMillis = Long.MIN_VALUE;
    /** When each ticker last woke; a ticker that has not woken for TICK + LATE is late right now. */
    private volatile long platformWokeMillis;
    private volatile long virtualWokeMillis;
    private volatile long lastSaturatedMillis = Long.MIN_VALUE;
    private volatile long worstLagMillis;
    private volatile boolean running = true;

    /** {@code cpuLoad}: the host's recent CPU load from 0 to 1, negative when unknown. */
    HostLag(LongSupplier clockMillis, DoubleSupplier cpuLoad) {
        this.clockMillis = clockMillis;
        this.cpuLoad = cpuLoad;
        this.platformWokeMillis = clockMillis.getAsLong();
        this.virtualWokeMillis = platformWokeMillis;
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
        for (long tick = 0; running && sleptOneTick(); tick++) {
            platformWokeMillis = clockMillis.getAsLong();
            if (tick % CPU_EVERY == 0 && cpuLoad.getAsDouble() >= SATURATED) {
                lastSaturatedMillis = clockMillis.getAsLong();
            }
        }
    }

    private void virtualLoop() {
        while (running && sleptOneTick()) {
            virtualWokeMillis = clockMillis.getAsLong();
        }
    }

    /** Sleeps one tick and notes how late it woke; false when interrupted (closing). */
    private boolean sleptOneTick() {
        long before = System.nanoTime();
        try {
            Thread.sleep(TICK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        noteLateness((System.nanoTime() - before - TICK.toNanos()) / 1_000_000);
        return true;
    }

    private void noteLateness(long lateMillis) {
        if (lateMillis >= LATE.toMillis()) {
            lastLateMillis = clockMillis.getAsLong();
            worstLagMillis = Math.max(worstLagMillis, lateMillis);
        }
    }

    /**
     * Whether this host fell behind on the agent's threads at any point since {@code sinceMillis}: a
     * tick woke late, or a ticker is overdue right now (one stuck behind saturated carriers notes its
     * lateness only when it finally runs, which may be after the probe that needs to know).
     */
    boolean congestedSince(long sinceMillis) {
        long overdue = clockMillis.getAsLong() - TICK.toMillis() - LATE.toMillis();
        return lastLateMillis >= sinceMillis || (running && Math.min(platformWokeMillis, virtualWokeMillis) < overdue);
    }

    /** Whether the host's CPU was saturated at any reading since {@code sinceMillis}. */
    boolean saturatedSince(long sinceMillis) {
        return lastSaturatedMillis >= sinceMillis;
    }

    /** The longest a tick has woken late since start, in ms (0: never late). */
    long worstLagMillis() {
        return worstLagMillis;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        virtualTicker.interrupt();
    }
}
