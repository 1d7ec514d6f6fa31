package io.understudy.agent;

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
