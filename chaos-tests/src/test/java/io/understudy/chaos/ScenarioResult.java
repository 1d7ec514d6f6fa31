package io.understudy.chaos;

import io.understudy.chaos.RequestRecord.Outcome;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

/**
 * What one scenario's whole request history shows, and which of its invariants it broke.
 *
 * @param faultStartMs  when the fault was injected (ms on the load's time axis)
 * @param faultEndMs    when it was lifted; -1 if it never was
 * @param steadyTier    the tier that serves in steady state (primary, unless leadership moved)
 * @param failoverMs    fault start to the first request started after it that another tier served
 *                      completely; -1 when no failover happened (or none was needed)
 * @param recoverMs     fault lifted to the first request from which on every request completed on the
 *                      steady tier again; -1 when that never happened
 * @param violations    each broken invariant in words; empty when the scenario passed
 */
record ScenarioResult(String id, String title, String invariant, List<RequestRecord> records, long faultStartMs,
                      long faultEndMs, String steadyTier, long durationMs, long duplicates, long duplicateBound,
                      long worstAddedMs, long failoverMs, long recoverMs, List<String> notes, List<String> violations) {

    long count(Outcome outcome) {
        return records.stream().filter(r -> r.outcome() == outcome).count();
    }

    boolean allComplete() {
        return records.stream().allMatch(r -> r.outcome() == Outcome.COMPLETE);
    }

    /** Every non-streamed request completed (streams cut mid-answer may end in a clean error). */
    boolean allPlainComplete() {
        return records.stream().allMatch(r -> r.stream() || r.outcome() == Outcome.COMPLETE);
    }

    boolean passed() {
        return violations.isEmpty();
    }

    /** Everything computed from the history; the scenario adds its own checks to {@code violations}. */
    static ScenarioResult of(String id, String title, String invariant, List<RequestRecord> records, long steadyFromMs, long faultStartMs,
                             long faultEndMs, String steadyTier, String recoveredTier, long durationMs, double retryRatio,
                             int reservePerWindow, long budgetWindowMs, long redirects) {
        long duplicates = records.stream().mapToLong(r -> Math.max(0, r.attempts() - 1)).sum();
        long windows = Math.max(1, (durationMs + budgetWindowMs - 1) / budgetWindowMs);
        // retries within the budget, plus requests moved off an upstream out of rotation (a killed relay
        // may have called the provider before it died: those calls are lost with it, not multiplied)
        long duplicateBound = (long) Math.ceil(retryRatio * records.size()) + (long) reservePerWindow * windows + redirects;
        long worstAdded = 0;
        String slowest = "";
        // latency is judged from the steady state the warm-up reached: what came before is the appliance's
        // start-up, reported below, not the fault's doing (every request still has to complete, start-up included)
        List<RequestRecord> steady = records.stream().filter(r -> r.startMs() >= steadyFromMs).toList();
        for (boolean stream : new boolean[]{false, true}) {
            long base = median(steady.stream().filter(r -> r.stream() == stream && r.startMs() < faultStartMs
                    && r.outcome() == Outcome.COMPLETE).mapToLong(RequestRecord::latencyMs));
            var worst = steady.stream().filter(r -> r.stream() == stream)
                    .max(java.util.Comparator.comparingLong(RequestRecord::latencyMs));
            if (worst.isPresent() && worst.get().latencyMs() - base > worstAdded) {
                RequestRecord w = worst.get();
                worstAdded = w.latencyMs() - base;
                // where the added time went: the first question when the bound is missed
                String began = faultStartMs == Long.MAX_VALUE ? w.startMs() + " ms into the run"
                        : (w.startMs() - faultStartMs) + " ms after the fault";
                slowest = "slowest: " + (stream ? "a stream" : "a non-streamed request") + " that began "
                        + began + " took " + w.latencyMs() + " ms (median " + (faultStartMs == Long.MAX_VALUE ? "" : "before ")
                        + base + " ms" + (stream ? ", its first chunk at " + w.ttftMs() + " ms" : "") + "), ended on "
                        + w.upstream() + " after " + w.attempts() + " provider call(s)";
            }
        }
        long failover = records.stream().filter(r -> r.startMs() >= faultStartMs && r.outcome() == Outcome.COMPLETE
                        && !r.tier().equals(steadyTier)).mapToLong(r -> r.startMs() - faultStartMs).min().orElse(-1);
        long recover = -1;
        if (faultEndMs >= 0) {
            List<RequestRecord> after = records.stream().filter(r -> r.startMs() >= faultEndMs).toList();
            int firstGood = after.size();
            for (int i = after.size() - 1; i >= 0; i--) {
                RequestRecord r = after.get(i);
                if (r.outcome() != Outcome.COMPLETE || !r.tier().equals(recoveredTier)) {
                    break;
                }
                firstGood = i;
            }
            if (firstGood < after.size()) {
                recover = after.get(firstGood).startMs() - faultEndMs;
            }
        }
        List<String> violations = new ArrayList<>();
        for (RequestRecord r : records) {
            if (!r.outcome().acceptable()) {
                violations.add("request not ended cleanly: " + r);
                if (violations.size() >= 10) {
                    violations.add("(more left out)");
                    break;
                }
            }
        }
        if (duplicates > duplicateBound) {
            violations.add("duplicate provider calls " + duplicates + " exceed the retry budget's bound " + duplicateBound);
        }
        if (faultEndMs >= 0 && recover < 0) {
            violations.add("not healthy again after the fault was lifted: requests did not settle on " + recoveredTier);
        }
        List<String> notes = new ArrayList<>();
        if (!slowest.isEmpty()) {
            notes.add(slowest);
        }
        if (steadyFromMs > 0) {
            long startupWorst = records.stream().filter(r -> r.startMs() < steadyFromMs).mapToLong(RequestRecord::latencyMs).max().orElse(0);
            notes.add("start-up: the appliance kept up with the load " + steadyFromMs + " ms after it began (slowest request before: "
                    + startupWorst + " ms); latency is judged from then on");
        }
        return new ScenarioResult(id, title, invariant, records, faultStartMs, faultEndMs, steadyTier, durationMs, duplicates,
                duplicateBound, worstAdded, failover, recover, notes, violations);
    }

    private static long median(LongStream values) {
        long[] sorted = values.sorted().toArray();
        return sorted.length == 0 ? 0 : sorted[sorted.length / 2];
    }

    void check(boolean ok, String what) {
        if (!ok) {
            violations.add(what);
        }
    }

    void note(String what) {
        notes.add(what);
    }

    String summaryLine() {
        return String.format("%-34s %5d req %5d ok %4d clean-err %3d trunc %3d hung %3d broken %4d dup  +%5d ms  failover %6s  recover %6s  %s",
                id, records.size(), count(Outcome.COMPLETE), count(Outcome.CLEAN_ERROR), count(Outcome.TRUNCATED),
                count(Outcome.HUNG), count(Outcome.BROKEN), duplicates, worstAddedMs, ms(failoverMs), ms(recoverMs),
                passed() ? "PASS" : "FAIL");
    }

    static String ms(long v) {
        return v < 0 ? "-" : v + " ms";
    }
}
