package io.understudy.cli;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Open-loop pacing, as a load generator must do it: tick {@code seq} is due at
 * {@code start + seq / perSecond}, whatever earlier ticks did, so a slow system is measured from when
 * each request was due (no coordinated omission). Used by the drill, the soak and the benchmark.
 */
public final class Pacer {
    private Pacer() {
    }

    /** What to do at each due time; {@code dueNanos} is on the System.nanoTime clock. Must not block. */
    @FunctionalInterface
    public interface Tick {
        void due(long seq, long dueNanos);
    }

    /** Ticks at {@code perSecond} until {@code count} ticks were made or {@code running} says stop. */
    public static void run(double perSecond, long count, BooleanSupplier running, Tick tick) throws InterruptedException {
        long intervalNanos = (long) (1e9 / perSecond);
        long start = System.nanoTime();
        for (long seq = 0; seq < count && running.getAsBoolean(); seq++) {
            long due = start + seq * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            tick.due(seq, due);
        }
    }
}
