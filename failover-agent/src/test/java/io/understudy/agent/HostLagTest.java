package io.understudy.agent;

import io.understudy.core.failover.HostStall;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostLagTest {

    @Test
    void aSaturatedCpuReadingIsNotedAndAnUnloadedOneIsNot() throws InterruptedException {
        AtomicReference<Double> load = new AtomicReference<>(0.5);
        AtomicInteger readings = new AtomicInteger();
        try (HostLag lag = new HostLag(System::currentTimeMillis, () -> {
            readings.incrementAndGet();
            return load.get();
        })) {
            long start = System.currentTimeMillis();
            awaitReadings(readings, 3);
            assertFalse(lag.saturatedSince(start), "a half-loaded host is not saturated");

            long saturatedFrom = System.currentTimeMillis();
            load.set(0.95);
            awaitReadings(readings, readings.get() + 2);
            assertTrue(lag.saturatedSince(saturatedFrom), "a reading at 95% marks the host saturated");

            load.set(0.2);
            awaitReadings(readings, readings.get() + 2);
            long after = System.currentTimeMillis();
            awaitReadings(readings, readings.get() + 2);
            assertFalse(lag.saturatedSince(after), "saturation is over once readings fall again");
        }
    }

    @Test
    void anUnknownCpuLoadNeverReadsAsSaturated() throws InterruptedException {
        AtomicInteger readings = new AtomicInteger();
        try (HostLag lag = new HostLag(System::currentTimeMillis, () -> {
            readings.incrementAndGet();
            return -1;
        })) {
            long start = System.currentTimeMillis();
            awaitReadings(readings, 3);
            assertFalse(lag.saturatedSince(start));
        }
    }

    /**
     * Regression, chaos scenario 20 (ci15): during a burst the agent's carrier threads were saturated,
     * so answers were read late and a probe timed out "with nothing back"; the platform ticker, run by
     * the OS, saw nothing. Here every carrier is held by a virtual thread that never yields.
     */
    @Test
    void saturatedCarrierThreadsCountAsRunningLate() throws InterruptedException {
        try (HostLag lag = new HostLag(System::currentTimeMillis, () -> -1)) {
            long start = System.currentTimeMillis();
            int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
            java.util.List<Thread> spinners = new java.util.ArrayList<>();
            for (int i = 0; i < carriers; i++) {
                spinners.add(Thread.ofVirtual().start(() -> {
                    long until = System.nanoTime() + 400_000_000L;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait(); // holds its carrier: no blocking call, no yield
                    }
                }));
            }
            // this platform thread runs while the virtual ticker waits behind the spinners
            boolean seenWhileHeld = false;
            while (!seenWhileHeld && spinners.stream().allMatch(Thread::isAlive)) {
                seenWhileHeld = lag.stallSince(start).lostMillis() >= HostLag.LATE.toMillis();
                if (!seenWhileHeld) {
                    Thread.sleep(5);
                }
            }
            assertTrue(seenWhileHeld, "overdue while the carriers are held, before the virtual ticker could note it");
            for (Thread t : spinners) {
                t.join(5_000);
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (lag.worstLagMillis() < HostLag.LATE.toMillis() && System.nanoTime() < deadline) {
                Thread.sleep(HostLag.TICK);
            }
            assertTrue(lag.worstLagMillis() >= HostLag.LATE.toMillis(), "the virtual ticker woke late behind the spinners");
            HostStall stall = lag.stallSince(start);
            assertTrue(stall.lostMillis() >= 200, "most of the 400 ms the carriers were held is remembered as lost: " + stall);
        }
    }

    private static void awaitReadings(AtomicInteger readings, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (readings.get() < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the CPU load was read " + readings.get() + " times in 10 s, expected " + atLeast);
            }
            Thread.sleep(HostLag.TICK);
        }
    }
}
