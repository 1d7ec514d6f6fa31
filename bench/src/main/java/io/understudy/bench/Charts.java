package io.understudy.bench;

import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.Locale;

/** The SVG charts of a results file, drawn as plain SVG text (no dependency for a few lines and bars). */
final class Charts {
    private static final String[] COLOURS = {"#555555", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    static final double[] PERCENTILES = {50, 75, 90, 95, 99, 99.5, 99.9, 99.99};

    private Charts() {
    }

    record Series(String name, Histogram latency) {
    }

    /** Latency (log ms) against percentile (spaced by 1/(1-p)) for each system at one rate. */
    static String percentiles(String title, List<Series> series) {
        int w = 760;
        int h = 420;
        int left = 70;
        int right = 200;
        int top = 40;
        int bottom = 50;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (Series s : series) {
            for (double p : PERCENTILES) {
                double v = Math.max(0.01, s.latency().getValueAtPercentile(p) / 1000.0);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        double logMin = Math.floor(Math.log10(min));
        double logMax = Math.ceil(Math.log10(max));
        if (logMax <= logMin) {
            logMax = logMin + 1;
        }
        StringBuilder svg = header(w, h, title);
        double plotW = w - left - right;
        double plotH = h - top - bottom;
        double xMax = Math.log10(1 / (1 - PERCENTILES[PERCENTILES.length - 1] / 100));
        for (double p : PERCENTILES) {
            double x = left + plotW * Math.log10(1 / (1 - p / 100)) / xMax;
            svg.append(line(x, top, x, top + plotH, "#eeeeee"));
            svg.append(text(x, h - bottom + 18, "p" + trim(p), "middle", 11));
        }
        for (double d = logMin; d <= logMax; d++) {
            double y = top + plotH * (1 - (d - logMin) / (logMax - logMin));
            svg.append(line(left, y, left + plotW, y, "#eeeeee"));
            svg.append(text(left - 6, y + 4, trim(Math.pow(10, d)) + " ms", "end", 11));
        }
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            String colour = COLOURS[i % COLOURS.length];
            StringBuilder points = new StringBuilder();
            for (double p : PERCENTILES) {
                double v = Math.max(0.01, s.latency().getValueAtPercentile(p) / 1000.0);
                double x = left + plotW * Math.log10(1 / (1 - p / 100)) / xMax;
                double y = top + plotH * (1 - (Math.log10(v) - logMin) / (logMax - logMin));
                points.append(fmt(x)).append(',').append(fmt(y)).append(' ');
            }
            svg.append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"").append(colour).append("\" points=\"").append(points).append("\"/>\n");
            svg.append(legend(w - right + 15, top + 10 + i * 20, colour, s.name()));
        }
        svg.append(text(left + plotW / 2, h - 10, "percentile (open-loop latency from each request's intended start)", "middle", 12));
        return svg.append("</svg>\n").toString();
    }

    /** Horizontal bars: one value per system (e.g. requests per second). */
    static String bars(String title, String unit, List<String> names, List<Double> values) {
        int rowH = 28;
        int left = 220;
        int w = 760;
        int h = 60 + rowH * names.size();
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        StringBuilder svg = header(w, h, title);
        for (int i = 0; i < names.size(); i++) {
            double y = 40 + i * rowH;
            double bw = (w - left - 120) * values.get(i) / Math.max(max, 1e-9);
            svg.append(text(left - 8, y + 17, names.get(i), "end", 12));
            svg.append("<rect x=\"").append(left).append("\" y=\"").append(fmt(y + 4)).append("\" width=\"").append(fmt(bw))
                    .append("\" height=\"").append(rowH - 8).append("\" fill=\"").append(COLOURS[i % COLOURS.length]).append("\"/>\n");
            svg.append(text(left + bw + 6, y + 17, String.format(Locale.ROOT, "%,.0f %s", values.get(i), unit), "start", 12));
        }
        return svg.append("</svg>\n").toString();
    }

    /** One failover run per system, stacked: p99 per window (log ms), failures as red ticks, the fault as a line. */
    record Timeline(String name, List<OpenLoopLoad.Sample> samples) {
    }

    static String failover(String title, List<Timeline> runs, long faultAtMillis, long windowMillis) {
        int w = 760;
        int rowH = 110;
        int left = 70;
        int right = 20;
        int top = 40;
        int h = top + rowH * runs.size() + 40;
        long end = runs.stream().flatMap(r -> r.samples().stream()).mapToLong(OpenLoopLoad.Sample::dueMillis).max().orElse(1) + windowMillis;
        double plotW = w - left - right;
        StringBuilder svg = header(w, h, title);
        double logMin = 0;   // 1 ms
        double logMax = 5;   // 100 s
        for (int i = 0; i < runs.size(); i++) {
            Timeline run = runs.get(i);
            double y0 = top + i * rowH;
            double plotH = rowH - 30;
            svg.append(text(left, y0 + 12, run.name(), "start", 12));
            for (double d = logMin; d <= logMax; d += 1) {
                double y = y0 + 18 + plotH * (1 - (d - logMin) / (logMax - logMin));
                svg.append(line(left, y, left + plotW, y, "#eeeeee"));
                svg.append(text(left - 6, y + 4, d >= 3 ? trim(Math.pow(10, d - 3)) + " s" : trim(Math.pow(10, d)) + " ms", "end", 10));
            }
            double fx = left + plotW * faultAtMillis / end;
            svg.append(line(fx, y0 + 18, fx, y0 + 18 + plotH, "#d62728"));
            StringBuilder points = new StringBuilder();
            for (long from = 0; from < end; from += windowMillis) {
                long f = from;
                List<OpenLoopLoad.Sample> in = run.samples().stream().filter(s -> s.dueMillis() >= f && s.dueMillis() < f + windowMillis).toList();
                if (in.isEmpty()) {
                    continue;
                }
                Histogram window = new Histogram(3);
                in.forEach(s -> window.recordValue(Math.max(1, s.latencyMicros())));
                double ms = Math.max(1, window.getValueAtPercentile(99) / 1000.0);
                double x = left + plotW * (from + windowMillis / 2.0) / end;
                double y = y0 + 18 + plotH * (1 - (Math.min(Math.log10(ms), logMax) - logMin) / (logMax - logMin));
                points.append(fmt(x)).append(',').append(fmt(y)).append(' ');
                long bad = in.stream().filter(s -> s.outcome() != OpenLoopLoad.Outcome.OK).count();
                if (bad > 0) {
                    double tick = Math.min(plotH * 0.5, 4 + 6 * Math.log10(1 + bad));
                    svg.append(line(x, y0 + 18 + plotH, x, y0 + 18 + plotH - tick, "#d62728"));
                }
            }
            svg.append("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"#1f77b4\" points=\"").append(points).append("\"/>\n");
        }
        for (long s = 0; s <= end / 1000; s++) {
            double x = left + plotW * s * 1000 / end;
            svg.append(text(x, h - 22, s + " s", "middle", 10));
        }
        svg.append(text(left + plotW / 2, h - 6, "request due time; blue: p99 per " + windowMillis
                + " ms window; red line: fault; red ticks: failed or truncated requests (taller = more)", "middle", 11));
        return svg.append("</svg>\n").toString();
    }

    /** One line per series of (x, y) points: a value sampled over time (x in seconds). */
    record Line(String name, List<double[]> points) {
    }

    static String lines(String title, String unit, List<Line> series) {
        String[] colours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"};
        int w = 760;
        int h = 300;
        int left = 70;
        int right = 170;
        int top = 40;
        int bottom = 40;
        double maxX = 1;
        double maxY = 1;
        for (Line l : series) {
            for (double[] p : l.points()) {
                maxX = Math.max(maxX, p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        double plotW = w - left - right;
        double plotH = h - top - bottom;
        StringBuilder svg = header(w, h, title);
        for (int i = 0; i <= 4; i++) {
            double y = top + plotH * i / 4;
            svg.append(line(left, y, left + plotW, y, "#ddd")).append(text(left - 6, y + 4, trim(Math.round(maxY * (4 - i) / 4.0)), "end", 10));
        }
        svg.append(text(14, top + plotH / 2, unit, "middle", 11).replace("<text ", "<text transform=\"rotate(-90 14 " + fmt(top + plotH / 2) + ")\" "));
        for (int i = 0; i <= 5; i++) {
            svg.append(text(left + plotW * i / 5, h - 22, Math.round(maxX * i / 5 / 60) + " min", "middle", 10));
        }
        for (int s = 0; s < series.size(); s++) {
            Line l = series.get(s);
            String colour = colours[s % colours.length];
            StringBuilder path = new StringBuilder();
            for (double[] p : l.points()) {
                path.append(path.isEmpty() ? "M" : " L").append(fmt(left + plotW * p[0] / maxX)).append(' ').append(fmt(top + plotH * (1 - p[1] / maxY)));
            }
            svg.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"1.5\"/>\n");
            svg.append(legend(w - right + 12, top + 10 + 18 * s, colour, l.name()));
        }
        return svg.append("</svg>\n").toString();
    }

    private static StringBuilder header(int w, int h, String title) {
        return new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" viewBox=\"0 0 ").append(w).append(' ').append(h).append("\" font-family=\"sans-serif\">\n")
                .append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n")
                .append(text(w / 2.0, 22, title, "middle", 15));
    }

    private static String legend(double x, double y, String colour, String name) {
        return line(x, y, x + 20, y, colour).replace("stroke-width=\"1\"", "stroke-width=\"3\"") + text(x + 26, y + 4, name, "start", 12);
    }

    private static String line(double x1, double y1, double x2, double y2, String colour) {
        return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2) + "\" stroke=\"" + colour
                + "\" stroke-width=\"1\"/>\n";
    }

    private static String text(double x, double y, String s, String anchor, int size) {
        return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" + size + "\">"
                + s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</text>\n";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
