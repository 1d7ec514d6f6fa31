package io.understudy.chaos;

import io.understudy.chaos.RequestRecord.Outcome;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a scenario's latency verdict is computed from its requests (no processes: the records are laid out by hand). */
class ScenarioResultTest {
    private static final long STEADY_FROM = 6_000;
    private static final long FAULT_AT = 10_000;

    /**
     * Scenario 17 on a slower machine (2026-12-08): every JVM compiling at once made the first requests
     * take seconds before any fault, and those start-up latencies were charged to the failover.
     */
    @Test
    void startUpLatencyIsNotChargedToTheFaultButIsReported() {
        List<RequestRecord> records = new ArrayList<>();
        for (long start = 0; start < 14_000; start += 100) {
            long latency = start < 3_000 ? 4_000 : start >= FAULT_AT && start < FAULT_AT + 500 ? 900 : 200;
            records.add(plain(records.size(), start, latency, start >= FAULT_AT ? "standby" : "primary"));
        }

        ScenarioResult r = result(records, STEADY_FROM);

        assertEquals(700, r.worstAddedMs(), "the slowest after the steady state (900 ms) less the steady median (200 ms)");
        assertTrue(r.notes().stream().anyMatch(n -> n.startsWith("start-up: the appliance kept up with the load 6000 ms after it began"
                + " (slowest request before: 4000 ms)")), r.notes().toString());
    }

    @Test
    void aScenarioWithoutWarmUpIsJudgedOnEveryRequest() {
        List<RequestRecord> records = new ArrayList<>();
        for (long start = 0; start < 14_000; start += 100) {
            records.add(plain(records.size(), start, start < 3_000 ? 4_000 : 200, "primary"));
        }

        assertEquals(3_800, result(records, 0).worstAddedMs());
    }

    @Test
    void aRequestThatFailedDuringStartUpIsStillAViolation() {
        List<RequestRecord> records = new ArrayList<>();
        for (long start = 0; start < 14_000; start += 100) {
            records.add(plain(records.size(), start, 200, "primary"));
        }
        RequestRecord first = records.getFirst();
        records.set(0, new RequestRecord(first.seq(), first.model(), false, 0, 200, 200, 502, "primary", "primary-1", 1,
                Outcome.BROKEN, "cut", 1));

        assertTrue(result(records, STEADY_FROM).violations().stream().anyMatch(v -> v.startsWith("request not ended cleanly")));
    }

    private static ScenarioResult result(List<RequestRecord> records, long steadyFrom) {
        return ScenarioResult.of("t", "t", "t", records, steadyFrom, FAULT_AT, -1, "primary", "primary", 14_000, 0.2, 10, 10_000, 0);
    }

    private static RequestRecord plain(int seq, long start, long latency, String tier) {
        return new RequestRecord(seq, "chaos-" + seq, false, start, start + latency, latency, 200, tier, tier + "-1", 1,
                Outcome.COMPLETE, "", 1);
    }
}
