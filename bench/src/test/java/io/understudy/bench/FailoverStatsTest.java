package io.understudy.bench;

import io.understudy.bench.OpenLoopLoad.Outcome;
import io.understudy.bench.OpenLoopLoad.Result;
import io.understudy.bench.OpenLoopLoad.Sample;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The failover row's figures, from samples laid out as a run would record them (300 req/s, fault 3 s into 12 s). */
class FailoverStatsTest {
    private static final long FAULT_AT = 3_000;
    private static final long RUN = 12_000;

    @Test
    void aSystemThatKeptUpBeforeTheFaultIsBackToNormalAtTheEndOfItsLastSlowWindow() {
        BenchMain.FailoverStats f = stats(due -> due >= FAULT_AT && due < FAULT_AT + 400 ? 900_000 : 220_000, due -> Outcome.OK);

        assertFalse(f.overloadedBefore(), f.toString());
        assertEquals(400, f.backToNormalMillis());
        assertEquals("400 ms", f.backToNormal());
        assertTrue(f.overloadNote("agent", 300).isEmpty());
    }

    @Test
    void aSystemAlreadyBehindBeforeTheFaultIsReportedAsOverloadedNotAsSlowToFailOver() {
        // a slow machine at 300 req/s: 10 s late before the fault, as measured on 2026-12-08
        BenchMain.FailoverStats f = stats(due -> 10_000_000, due -> Outcome.OK);

        assertTrue(f.overloadedBefore(), f.toString());
        assertEquals("overloaded before the fault", f.backToNormal());
        String note = f.overloadNote("agent -> relay", 300).orElseThrow();
        assertTrue(note.contains("did not carry 300 req/s"), note);
    }

    @Test
    void aRequestThatFailedBeforeTheFaultMarksTheRunOverloadedEvenWithAQuickP99() {
        BenchMain.FailoverStats f = stats(due -> 220_000, due -> due == 1_000 ? Outcome.FAILED : Outcome.OK);

        assertEquals(1, f.failedBefore());
        assertTrue(f.overloadedBefore(), f.toString());
    }

    private static BenchMain.FailoverStats stats(java.util.function.LongUnaryOperator latencyMicros, LongFunction<Outcome> outcome) {
        List<Sample> samples = new ArrayList<>();
        for (long i = 0; i < RUN * 300 / 1000; i++) {
            long due = i * 1000 / 300;
            samples.add(new Sample(due, latencyMicros.applyAsLong(due), i % 2 == 1, outcome.apply(due), 0));
        }
        Histogram none = new Histogram(3);
        return BenchMain.FailoverStats.of(new Result(samples.size(), 0, 0, 0, none, none, none, samples), FAULT_AT, RUN);
    }
}
