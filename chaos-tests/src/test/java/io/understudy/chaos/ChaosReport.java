package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.chaos.RequestRecord.Outcome;
import io.understudy.core.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes {@code chaos-tests/target/chaos-report/}: per scenario a JSON summary and an SVG timeline,
 * and, rebuilt after every scenario from the summaries of this run, {@code index.html} and
 * {@code summary.txt} (the one-screen text bin/test prints).
 */
final class ChaosReport {
    private static final Map<String, String> TIER_COLOURS = Map.of("primary", "#1f77b4", "standby", "#ff7f0e", "direct", "#2ca02c");

    private ChaosReport() {
    }

    static Path dir() {
        return Path.of(System.getProperty("chaos.report", "target/chaos-report"));
    }

    /** Identifies one run of the suite, so summaries left by an earlier run are not mixed in. */
    private static String runId() {
        return System.getProperty("chaos.run", String.valueOf(ProcessHandle.current().pid()));
    }

    static void write(ScenarioResult r, String fault) {
        try {
            Path scenarios = Files.createDirectories(dir().resolve("scenarios"));
            String svg = svg(r);
            Files.writeString(scenarios.resolve(r.id() + ".svg"), svg);
            StringBuilder csv = new StringBuilder("seq,stream,start_ms,end_ms,ttft_ms,status,tier,upstream,epoch,outcome,attempts,detail\n");
            for (RequestRecord q : r.records()) {
                csv.append(q.seq()).append(',').append(q.stream()).append(',').append(q.startMs()).append(',').append(q.endMs())
                        .append(',').append(q.ttftMs()).append(',').append(q.status()).append(',').append(q.tier()).append(',')
                        .append(q.upstream()).append(',').append(q.epoch()).append(',').append(q.outcome()).append(',')
                        .append(q.attempts()).append(",\"").append(q.detail().replace("\"", "'")).append("\"\n");
            }
            Files.writeString(scenarios.resolve(r.id() + ".csv"), csv.toString());
            ObjectNode json = Json.object().put("run", runId()).put("id", r.id()).put("title", r.title())
                    .put("invariant", r.invariant()).put("fault", fault).put("requests", r.records().size())
                    .put("complete", r.count(Outcome.COMPLETE)).put("clean_errors", r.count(Outcome.CLEAN_ERROR))
                    .put("truncated", r.count(Outcome.TRUNCATED)).put("hung", r.count(Outcome.HUNG))
                    .put("broken", r.count(Outcome.BROKEN)).put("duplicates", r.duplicates())
                    .put("duplicate_bound", r.duplicateBound()).put("worst_added_ms", r.worstAddedMs())
                    .put("failover_ms", r.failoverMs()).put("recover_ms", r.recoverMs()).put("passed", r.passed())
                    .put("summary_line", r.summaryLine()).put("svg", svg);
            ArrayNode notes = json.putArray("notes");
            r.notes().forEach(notes::add);
            ArrayNode violations = json.putArray("violations");
            r.violations().forEach(violations::add);
            Files.writeString(scenarios.resolve(r.id() + ".json"), Json.text(json));
            rebuildIndex(scenarios);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The summaries this run has written so far, in scenario id order. */
    static List<JsonNode> summaries() throws IOException {
        Path scenarios = dir().resolve("scenarios");
        List<JsonNode> results = new ArrayList<>();
        if (!Files.isDirectory(scenarios)) {
            return results;
        }
        try (Stream<Path> files = Files.list(scenarios)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                JsonNode n = Json.parse(Files.readString(f));
                if (n.path("run").asText().equals(runId())) {
                    results.add(n);
                }
            }
        }
        results.sort(Comparator.comparing(n -> n.path("id").asText()));
        return results;
    }

    private static void rebuildIndex(Path scenarios) throws IOException {
        try (Stream<Path> files = Files.list(scenarios)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                JsonNode n = Json.parse(Files.readString(f));
                if (!n.path("run").asText().equals(runId())) {
                    Files.deleteIfExists(f);
                    Files.deleteIfExists(scenarios.resolve(n.path("id").asText() + ".svg"));
                    Files.deleteIfExists(scenarios.resolve(n.path("id").asText() + ".csv"));
                }
            }
        }
        List<JsonNode> results = summaries();
        long failed = results.stream().filter(n -> !n.path("passed").asBoolean()).count();
        StringBuilder text = new StringBuilder("chaos suite: " + results.size() + " scenarios, " + failed + " failed\n");
        results.forEach(n -> text.append(n.path("summary_line").asText()).append('\n'));
        Files.writeString(dir().resolve("summary.txt"), text.toString());

        StringBuilder html = new StringBuilder("""
                <!doctype html><html><head><meta charset="utf-8"><title>Understudy chaos report</title>
                <style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}
                td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
                .fail{background:#fdd}.pass{background:#efe}section{margin-top:28px}small{color:#666}</style></head><body>
                <h1>Understudy chaos report</h1>
                """);
        html.append("<p>").append(results.size()).append(" scenarios, <b>").append(failed).append(" failed</b>. ")
                .append("Every request of every scenario is judged against its deterministic answer. Times in ms; ")
                .append("failover = fault start to the first request another tier served completely; recover = fault lifted to ")
                .append("the point from which every request completed on the steady tier.</p>\n<table><tr><th>scenario</th><th>requests</th>")
                .append("<th>complete</th><th>clean errors</th><th>truncated</th><th>hung</th><th>broken</th><th>duplicates (bound)</th>")
                .append("<th>worst added latency</th><th>time to failover</th><th>time to recover</th><th>verdict</th></tr>\n");
        for (JsonNode n : results) {
            boolean ok = n.path("passed").asBoolean();
            html.append("<tr class=\"").append(ok ? "pass" : "fail").append("\"><td><a href=\"#").append(esc(n.path("id").asText()))
                    .append("\">").append(esc(n.path("id").asText())).append("</a></td>");
            for (String k : List.of("requests", "complete", "clean_errors", "truncated", "hung", "broken")) {
                html.append("<td>").append(n.path(k).asLong()).append("</td>");
            }
            html.append("<td>").append(n.path("duplicates").asLong()).append(" (").append(n.path("duplicate_bound").asLong()).append(")</td>")
                    .append("<td>").append(n.path("worst_added_ms").asLong()).append("</td>")
                    .append("<td>").append(ScenarioResult.ms(n.path("failover_ms").asLong())).append("</td>")
                    .append("<td>").append(ScenarioResult.ms(n.path("recover_ms").asLong())).append("</td>")
                    .append("<td>").append(ok ? "pass" : "FAIL").append("</td></tr>\n");
        }
        html.append("</table>\n");
        for (JsonNode n : results) {
            html.append("<section id=\"").append(esc(n.path("id").asText())).append("\"><h2>").append(esc(n.path("id").asText()))
                    .append(": ").append(esc(n.path("title").asText())).append("</h2>\n<p><b>Invariant.</b> ")
                    .append(esc(n.path("invariant").asText())).append("<br><b>Fault.</b> ").append(esc(n.path("fault").asText())).append("</p>\n");
            if (n.path("notes").size() > 0) {
                html.append("<ul>");
                n.path("notes").forEach(x -> html.append("<li><small>").append(esc(x.asText())).append("</small></li>"));
                html.append("</ul>");
            }
            if (n.path("violations").size() > 0) {
                html.append("<ul class=\"fail\">");
                n.path("violations").forEach(x -> html.append("<li>").append(esc(x.asText())).append("</li>"));
                html.append("</ul>");
            }
            html.append(n.path("svg").asText()).append("</section>\n");
        }
        html.append("</body></html>\n");
        Files.writeString(dir().resolve("index.html"), html.toString());
    }

    /**
     * A timeline: each request a dot at (start time, latency on a log scale), coloured by the tier
     * that served it; clean errors as red rings, anything worse as red crosses; the fault window shaded.
     */
    static String svg(ScenarioResult r) {
        int w = 960;
        int h = 260;
        int left = 56;
        int right = 110;
        int top = 14;
        int bottom = 34;
        double spanMs = Math.max(1000, r.durationMs());
        double minLog = Math.log10(10);
        double maxLog = Math.log10(30_000);
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" font-family=\"sans-serif\" font-size=\"11\">");
        s.append("<rect x=\"0\" y=\"0\" width=\"").append(w).append("\" height=\"").append(h).append("\" fill=\"white\"/>");
        double plotW = w - left - right;
        double plotH = h - top - bottom;
        java.util.function.DoubleUnaryOperator x = t -> left + plotW * Math.min(1, Math.max(0, t / spanMs));
        java.util.function.DoubleUnaryOperator y = ms -> {
            double l = Math.log10(Math.max(10, Math.min(30_000, ms)));
            return top + plotH * (1 - (l - minLog) / (maxLog - minLog));
        };
        if (r.faultStartMs() != Long.MAX_VALUE && r.faultStartMs() >= 0) {
            double end = r.faultEndMs() >= 0 ? r.faultEndMs() : spanMs;
            s.append(String.format("<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4cccc\" opacity=\"0.6\"/>",
                    x.applyAsDouble(r.faultStartMs()), top, Math.max(1, x.applyAsDouble(end) - x.applyAsDouble(r.faultStartMs())), plotH));
            s.append(String.format("<text x=\"%.1f\" y=\"%d\" fill=\"#a33\">fault</text>", x.applyAsDouble(r.faultStartMs()) + 3, top + 11));
        }
        for (int ms : new int[]{10, 100, 1000, 10_000}) {
            double yy = y.applyAsDouble(ms);
            s.append(String.format("<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, left + plotW, yy, yy));
            s.append(String.format("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left - 4, yy + 4,
                    ms >= 1000 ? ms / 1000 + " s" : ms + " ms"));
        }
        for (int sec = 0; sec <= spanMs / 1000; sec += Math.max(1, (int) (spanMs / 1000 / 12))) {
            double xx = x.applyAsDouble(sec * 1000.0);
            s.append(String.format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%ds</text>", xx, h - bottom + 14, sec));
        }
        s.append(String.format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">request start (s) / latency (log)</text>",
                left + plotW / 2, h - 4));
        for (RequestRecord q : r.records()) {
            double xx = x.applyAsDouble(q.startMs());
            double yy = y.applyAsDouble(q.latencyMs());
            switch (q.outcome()) {
                case COMPLETE -> s.append(String.format("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>", xx, yy,
                        TIER_COLOURS.getOrDefault(q.tier(), "#888")));
                case CLEAN_ERROR -> s.append(String.format("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"none\" stroke=\"#d62728\"/>", xx, yy));
                default -> s.append(String.format("<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" stroke=\"#d62728\" stroke-width=\"2\"/>",
                        xx - 3, yy - 3));
            }
        }
        int ly = top + 10;
        for (String tier : List.of("primary", "standby", "direct")) {
            s.append(String.format("<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>",
                    w - right + 14, ly, TIER_COLOURS.get(tier), w - right + 22, ly + 4, tier));
            ly += 16;
        }
        s.append(String.format("<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"none\" stroke=\"#d62728\"/><text x=\"%d\" y=\"%d\">clean error</text>",
                w - right + 14, ly, w - right + 22, ly + 4));
        ly += 16;
        s.append(String.format("<path d=\"M%d %dl6 6m0 -6l-6 6\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">truncated/hung</text>",
                w - right + 11, ly - 3, w - right + 22, ly + 4));
        s.append("</svg>");
        return s.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
