package io.understudy.cli;

import io.understudy.cli.DrillLoad.Sample;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * What a drill measured and whether the deployment met the operator's bounds: pure code over the
 * samples and the step timeline, so the verdict can be tested without a deployment. Rendered as
 * Markdown and as HTML with an SVG chart (no external assets).
 */
final class DrillReport {
    /**
     * A step: {@code startMs} when it began to move traffic off {@code home}, {@code liftMs} when it
     * began to bring it back, {@code endMs} when the next step (or the end) began.
     */
    record Step(String id, String title, long startMs, long liftMs, long endMs) {
    }

    /** The operator's bounds: errors over the whole drill, and p99 latency added by any step over the baseline. */
    record Bounds(long maxErrors, Duration maxAddedLatency) {
    }

    /** One step as measured; times to move and return are empty when traffic never moved or never came back. */
    record StepResult(Step step, int requests, int errors, long p50Ms, long p99Ms, long addedP99Ms,
                      OptionalLong timeToMoveMs, OptionalLong timeToReturnMs, Map<String, Integer> byTier) {
    }

    record Verdict(boolean passed, List<String> reasons) {
    }

    /** {@code intervalMs}: the load's spacing, which bounds how finely the times are measured. */
    record Result(String home, long baselineP50Ms, long baselineP99Ms, int requests, int errors, List<StepResult> steps,
                  Verdict verdict, long intervalMs) {
    }

    private DrillReport() {
    }

    /** {@code baseline}: the window before the first step; {@code home}: the tier that serves when nothing is wrong. */
    static Result measure(List<Sample> samples, String home, Step baseline, List<Step> steps, Bounds bounds, long intervalMs) {
        List<Sample> base = within(samples, baseline.startMs(), baseline.endMs());
        long baseP50 = percentile(base, 50);
        long baseP99 = percentile(base, 99);
        List<StepResult> results = new ArrayList<>();
        for (Step step : steps) {
            List<Sample> in = within(samples, step.startMs(), step.endMs());
            long p99 = percentile(in, 99);
            Map<String, Integer> byTier = new LinkedHashMap<>();
            in.stream().filter(Sample::ok).forEach(s -> byTier.merge(s.tier(), 1, Integer::sum));
            results.add(new StepResult(step, in.size(), (int) in.stream().filter(s -> !s.ok()).count(), percentile(in, 50), p99,
                    p99 - baseP99, firstAway(in, home, step.startMs(), step.liftMs()), returned(in, home, step.liftMs()), byTier));
        }
        int errors = (int) samples.stream().filter(s -> !s.ok()).count();
        return new Result(home, baseP50, baseP99, samples.size(), errors, results, judge(errors, results, bounds), intervalMs);
    }

    /** Pass when errors stay within bounds, every step moved traffic and brought it back, and no step added too much latency. */
    static Verdict judge(int errors, List<StepResult> steps, Bounds bounds) {
        List<String> reasons = new ArrayList<>();
        if (errors > bounds.maxErrors()) {
            reasons.add(errors + " request(s) failed (at most " + bounds.maxErrors() + " allowed)");
        }
        for (StepResult r : steps) {
            if (r.timeToMoveMs().isEmpty()) {
                reasons.add(r.step().title() + ": traffic never left the home tier, so nothing was rehearsed");
            } else if (r.timeToReturnMs().isEmpty()) {
                reasons.add(r.step().title() + ": traffic did not come back to the home tier before the step ended");
            }
            if (r.addedP99Ms() > bounds.maxAddedLatency().toMillis()) {
                reasons.add(r.step().title() + ": p99 latency rose " + r.addedP99Ms() + " ms over the baseline (at most "
                        + bounds.maxAddedLatency().toMillis() + " ms allowed)");
            }
        }
        return new Verdict(reasons.isEmpty(), reasons);
    }

    private static List<Sample> within(List<Sample> samples, long fromMs, long toMs) {
        return samples.stream().filter(s -> s.startMs() >= fromMs && s.startMs() < toMs).toList();
    }

    /** Nearest-rank percentile of the answered requests' latency; 0 when there are none. */
    static long percentile(List<Sample> samples, int p) {
        long[] sorted = samples.stream().filter(Sample::ok).mapToLong(Sample::latencyMs).sorted().toArray();
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    /** From the step's start to the first request (started after it) that another tier served. */
    private static OptionalLong firstAway(List<Sample> in, String home, long startMs, long liftMs) {
        return in.stream().filter(s -> s.ok() && s.startMs() < liftMs && !s.tier().equals(home))
                .mapToLong(s -> s.startMs() - startMs).findFirst();
    }

    /** From the lift to the first request on the home tier after which every answered one stayed there. */
    private static OptionalLong returned(List<Sample> in, String home, long liftMs) {
        List<Sample> after = in.stream().filter(s -> s.ok() && s.startMs() >= liftMs).toList();
        int firstOfRun = -1;
        for (int i = 0; i < after.size(); i++) {
            if (!after.get(i).tier().equals(home)) {
                firstOfRun = -1;
            } else if (firstOfRun < 0) {
                firstOfRun = i;
            }
        }
        return firstOfRun < 0 ? OptionalLong.empty() : OptionalLong.of(after.get(firstOfRun).startMs() - liftMs);
    }

    // ------------------------------------------------------------------ rendering

    static String markdown(Result r, String deployment, Bounds bounds, List<String> notes) {
        StringBuilder md = new StringBuilder("# Understudy failover drill\n\n");
        md.append("Deployment: ").append(deployment).append("  \n");
        md.append("Verdict: **").append(r.verdict().passed() ? "passed" : "FAILED").append("**")
                .append(r.verdict().reasons().isEmpty() ? "" : ": " + String.join("; ", r.verdict().reasons())).append("  \n");
        md.append("Bounds: at most ").append(bounds.maxErrors()).append(" failed request(s); p99 added by a step at most ")
                .append(bounds.maxAddedLatency().toMillis()).append(" ms.  \n");
        md.append("Requests: ").append(r.requests()).append(", failed: ").append(r.errors()).append(". Baseline latency p50 ")
                .append(r.baselineP50Ms()).append(" ms, p99 ").append(r.baselineP99Ms()).append(" ms; home tier `").append(r.home())
                .append("`.\n\n");
        md.append("| step | requests | failed | served by tier | p50 ms | p99 ms | p99 added ms | time to move | time to return |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (StepResult s : r.steps()) {
            md.append("| ").append(s.step().title()).append(" | ").append(s.requests()).append(" | ").append(s.errors()).append(" | ")
                    .append(tiers(s.byTier())).append(" | ").append(s.p50Ms()).append(" | ").append(s.p99Ms()).append(" | ")
                    .append(s.addedP99Ms()).append(" | ").append(ms(s.timeToMoveMs())).append(" | ").append(ms(s.timeToReturnMs()))
                    .append(" |\n");
        }
        md.append("\nTime to move: from the step's start to the first request another tier served. Time to return: from the ")
                .append("moment the step gave traffic back to the first request on the home tier after which every answer came from it. ")
                .append("Both are as fine as the load: one request every ").append(r.intervalMs()).append(" ms. ")
                .append("Each request is in `requests.csv`; the chart is in `report.html`.\n");
        if (!notes.isEmpty()) {
            md.append("\n");
            notes.forEach(n -> md.append("- ").append(n).append('\n'));
        }
        return md.toString();
    }

    static String html(Result r, List<Sample> samples, String deployment, Bounds bounds, List<String> notes) {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>Understudy failover drill</title>")
                .append("<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}")
                .append(".pass{color:#060}.fail{color:#b00}</style></head><body><h1>Understudy failover drill</h1>");
        h.append("<p>Deployment: ").append(esc(deployment)).append("<br>Verdict: <b class=\"").append(r.verdict().passed() ? "pass\">passed" : "fail\">FAILED")
                .append("</b>").append(esc(r.verdict().reasons().isEmpty() ? "" : ": " + String.join("; ", r.verdict().reasons())))
                .append("<br>Bounds: at most ").append(bounds.maxErrors()).append(" failed request(s); p99 added by a step at most ")
                .append(bounds.maxAddedLatency().toMillis()).append(" ms.<br>Requests: ").append(r.requests()).append(", failed: ")
                .append(r.errors()).append(". Baseline p50 ").append(r.baselineP50Ms()).append(" ms, p99 ").append(r.baselineP99Ms())
                .append(" ms; home tier ").append(esc(r.home())).append(".</p>");
        h.append("<table id=\"steps\"><tr><th>step</th><th>requests</th><th>failed</th><th>served by tier</th><th>p50 ms</th>")
                .append("<th>p99 ms</th><th>p99 added ms</th><th>time to move</th><th>time to return</th></tr>");
        for (StepResult s : r.steps()) {
            h.append("<tr><td>").append(esc(s.step().title())).append("</td><td>").append(s.requests()).append("</td><td>").append(s.errors())
                    .append("</td><td>").append(esc(tiers(s.byTier()))).append("</td><td>").append(s.p50Ms()).append("</td><td>")
                    .append(s.p99Ms()).append("</td><td>").append(s.addedP99Ms()).append("</td><td>").append(ms(s.timeToMoveMs()))
                    .append("</td><td>").append(ms(s.timeToReturnMs())).append("</td></tr>");
        }
        h.append("</table><h2>Requests per second by tier</h2>").append(chart(r, samples));
        if (!notes.isEmpty()) {
            h.append("<ul>");
            notes.forEach(n -> h.append("<li>").append(esc(n)).append("</li>"));
            h.append("</ul>");
        }
        return h.append("</body></html>\n").toString();
    }

    /** Stacked bars: answered requests per second by the tier that served them, failures in red; steps shaded. */
    static String chart(Result r, List<Sample> samples) {
        String[] palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};
        TreeSet<String> tierSet = new TreeSet<>();
        samples.stream().filter(Sample::ok).forEach(s -> tierSet.add(s.tier()));
        List<String> tiers = new ArrayList<>();
        if (tierSet.remove(r.home())) {
            tiers.add(r.home());
        }
        tiers.addAll(tierSet);
        long lastMs = samples.stream().mapToLong(Sample::startMs).max().orElse(0);
        int seconds = (int) (lastMs / 1000) + 1;
        int[][] counts = new int[seconds][tiers.size() + 1];
        for (Sample s : samples) {
            int sec = (int) (s.startMs() / 1000);
            counts[sec][s.ok() ? tiers.indexOf(s.tier()) : tiers.size()]++;
        }
        int max = 1;
        for (int[] c : counts) {
            max = Math.max(max, java.util.Arrays.stream(c).sum());
        }
        int w = 960;
        int h = 240;
        int left = 40;
        int right = 130;
        int top = 26;
        int bottom = 30;
        double barW = (double) (w - left - right) / seconds;
        double plotH = h - top - bottom;
        StringBuilder s = new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h
                + "\" font-family=\"sans-serif\" font-size=\"11\"><rect width=\"" + w + "\" height=\"" + h + "\" fill=\"white\"/>");
        for (StepResult step : r.steps()) { // a band above the bars: from the step's start to when it gave traffic back
            double x0 = left + barW * step.step().startMs() / 1000.0;
            double x1 = left + barW * step.step().liftMs() / 1000.0;
            s.append(String.format(Locale.ROOT, "<rect class=\"step\" x=\"%.1f\" y=\"2\" width=\"%.1f\" height=\"6\" fill=\"#d62728\"/>"
                    + "<text x=\"%.1f\" y=\"20\" fill=\"#a33\">%s</text>", x0, Math.max(1, x1 - x0), x0, esc(step.step().id())));
        }
        for (int sec = 0; sec < seconds; sec++) {
            double y = top + plotH;
            for (int t = 0; t <= tiers.size(); t++) {
                int n = counts[sec][t];
                if (n == 0) {
                    continue;
                }
                double bh = plotH * n / max;
                y -= bh;
                s.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                        left + barW * sec, y, Math.max(1, barW - 1), bh, t == tiers.size() ? "#d62728" : palette[t % palette.length]));
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d/s</text>", left - 4, top + 10, max));
        for (int sec = 0; sec < seconds; sec += Math.max(1, seconds / 12)) {
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%ds</text>", left + barW * sec, h - bottom + 14, sec));
        }
        int ly = top + 10;
        for (int t = 0; t <= tiers.size(); t++) {
            String label = t == tiers.size() ? "failed" : tiers.get(t);
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>",
                    w - right + 12, ly - 9, t == tiers.size() ? "#d62728" : palette[t % palette.length], w - right + 26, ly, esc(label)));
            ly += 16;
        }
        return s.append("</svg>").toString();
    }

    private static String tiers(Map<String, Integer> byTier) {
        List<String> parts = new ArrayList<>();
        byTier.forEach((t, n) -> parts.add((t.isEmpty() ? "?" : t) + " " + n));
        return parts.isEmpty() ? "-" : String.join(", ", parts);
    }

    private static String ms(OptionalLong v) {
        return v.isPresent() ? v.getAsLong() + " ms" : "-";
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
