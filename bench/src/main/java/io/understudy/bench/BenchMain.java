package io.understudy.bench;

import io.understudy.testkit.JavaProcess;
import io.understudy.testkit.TcpProxy;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * bin/bench: starts provider-sim, relays and agents as separate processes on free loopback ports and
 * measures them with an open-loop load. Writes bench/results/DATE.md. {@code --quick} runs a tiny
 * scale to check the harness itself.
 */
public final class BenchMain {
    private static final String BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"bench\"}]}";
    private static final String STREAM_BODY = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"bench\"}]}";

    private final boolean quick;
    private final Path runDir;
    private final Path outDir;
    private final OpenLoopLoad load = new OpenLoopLoad();
    private final StringBuilder report = new StringBuilder();
    private final List<JavaProcess> processes = new ArrayList<>();

    private BenchMain(boolean quick, Path runDir, Path outDir) {
        this.quick = quick;
        this.runDir = runDir;
        this.outDir = outDir;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path out = Path.of(args.length > 0 && !args[args.length - 1].startsWith("--") ? args[args.length - 1] : "bench/results");
        BenchMain bench = new BenchMain(quick, Files.createTempDirectory("understudy-bench"), out);
        try {
            bench.runAll();
        } finally {
            bench.processes.forEach(JavaProcess::close);
        }
    }

    private Duration warmup() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(4);
    }

    private Duration measure() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(8);
    }

    private JavaProcess start(String name, String main, List<String> args, String... jvm) {
        List<String> flags = new ArrayList<>(List.of("-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC"));
        flags.addAll(List.of(jvm));
        JavaProcess p = JavaProcess.start(name, runDir, main, args, flags.toArray(String[]::new));
        processes.add(p);
        return p;
    }

    private Path write(String name, String text) throws IOException {
        Path p = runDir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private void runAll() throws Exception {
        String date = LocalDate.now().toString();
        line("# Understudy benchmark, " + date + (quick ? " (quick: harness check only, numbers meaningless)" : ""));
        line("");
        line("Machine: " + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + Runtime.version() + ". Everything on one box over loopback:");
        line("the load generator, provider-sim and the system under test share the cores. Open-loop load (HdrHistogram,");
        line("latency measured from each request's intended start). Warm-up " + warmup().toSeconds() + " s, measured "
                + measure().toSeconds() + " s per row.");
        line("");

        // provider-sim answering at once: overhead is what each hop adds
        JavaProcess sim = start("sim", "io.understudy.sim.SimMain", List.of("0", "0", "0", "16"), "-Xmx256m");
        String simUrl = "http://127.0.0.1:" + sim.port();
        Path relayYaml = write("relay.yaml", """
                server: { host: 127.0.0.1, port: 0 }
                providers:
                  - { name: sim, kind: openai, base-url: "%s/v1" }
                routes:
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.6 }
                """.formatted(simUrl));
        JavaProcess primary = start("primary", "io.understudy.relay.RelayMain", List.of(relayYaml.toString(), "primary"), "-Xmx512m");
        JavaProcess standby = start("standby", "io.understudy.relay.RelayMain", List.of(relayYaml.toString(), "standby"), "-Xmx512m");
        TcpProxy primaryProxy = new TcpProxy(primary.port());
        Path directYaml = write("agent-direct.yaml", agentYaml(-1, -1, simUrl));
        Path fullYaml = write("agent-full.yaml", agentYaml(primaryProxy.port(), standby.port(), simUrl));
        long spawned = System.nanoTime();
        JavaProcess agentDirect = start("agent-direct", "io.understudy.agent.AgentMain", List.of(directYaml.toString()), "-Xmx128m");
        long firstServed = firstSuccess("http://127.0.0.1:" + agentDirect.port());
        double startupSeconds = (firstServed - spawned) / 1e9;
        JavaProcess agentFull = start("agent-full", "io.understudy.agent.AgentMain", List.of(fullYaml.toString()), "-Xmx128m");
        firstSuccess("http://127.0.0.1:" + agentFull.port());

        record Target(String name, String url) {
        }
        List<Target> targets = List.of(
                new Target("baseline: provider-sim direct", simUrl),
                new Target("agent, direct-provider tier", "http://127.0.0.1:" + agentDirect.port()),
                new Target("relay alone", "http://127.0.0.1:" + primary.port()),
                new Target("agent -> primary relay (full path)", "http://127.0.0.1:" + agentFull.port()));

        line("## 1. Overhead: non-streaming, open loop");
        line("");
        line("| system | rate req/s | ok | failed | p50 ms | p99 ms | p99.9 ms | p99 added vs baseline ms |");
        line("|---|---|---|---|---|---|---|---|");
        int[] rates = quick ? new int[]{200} : new int[]{500, 1000, 2000};
        for (int rate : rates) {
            double baselineP99 = 0;
            for (Target t : targets) {
                load.run("warmup", t.url() + "/v1/chat/completions", BODY, false, rate, warmup());
                OpenLoopLoad.Result r = load.run(t.name(), t.url() + "/v1/chat/completions", BODY, false, rate, measure());
                double p99 = ms(r.latency(), 99);
                if (t == targets.get(0)) {
                    baselineP99 = p99;
                }
                line(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.2f | %.2f | %s |", t.name(), rate, r.ok(), r.failed(),
                        ms(r.latency(), 50), p99, ms(r.latency(), 99.9),
                        t == targets.get(0) ? "-" : String.format(Locale.ROOT, "%+.2f", p99 - baselineP99)));
            }
        }
        line("");

        line("## 2. Streaming: time to first token and gaps between chunks");
        line("");
        JavaProcess slowSim = start("sim-stream", "io.understudy.sim.SimMain", List.of("0", "50", "10", "16"), "-Xmx256m");
        String slowUrl = "http://127.0.0.1:" + slowSim.port();
        Path slowRelayYaml = write("relay-stream.yaml", Files.readString(relayYaml).replace(simUrl, slowUrl));
        JavaProcess streamRelay = start("relay-stream", "io.understudy.relay.RelayMain", List.of(slowRelayYaml.toString(), "primary"), "-Xmx512m");
        Path streamAgentYaml = write("agent-stream.yaml", agentYaml(streamRelay.port(), -1, slowUrl));
        JavaProcess streamAgent = start("agent-stream", "io.understudy.agent.AgentMain", List.of(streamAgentYaml.toString()), "-Xmx128m");
        firstSuccess("http://127.0.0.1:" + streamAgent.port());
        line("provider-sim: first token after 50 ms, then 16 tokens 10 ms apart; " + (quick ? 20 : 100) + " streams/s.");
        line("");
        line("| system | ok | failed | TTFT p50 ms | TTFT p99 ms | TTFT p99 added ms | gap p50 ms | gap p99 ms |");
        line("|---|---|---|---|---|---|---|---|");
        double baseTtft = 0;
        for (Target t : List.of(new Target("baseline: provider-sim direct", slowUrl),
                new Target("agent -> primary relay", "http://127.0.0.1:" + streamAgent.port()))) {
            int rate = quick ? 20 : 100;
            load.run("warmup", t.url() + "/v1/chat/completions", STREAM_BODY, true, rate, warmup());
            OpenLoopLoad.Result r = load.run(t.name(), t.url() + "/v1/chat/completions", STREAM_BODY, true, rate, measure());
            double ttft99 = ms(r.ttft(), 99);
            if (baseTtft == 0) {
                baseTtft = ttft99;
            }
            line(String.format(Locale.ROOT, "| %s | %d | %d | %.2f | %.2f | %s | %.2f | %.2f |", t.name(), r.ok(), r.failed(),
                    ms(r.ttft(), 50), ttft99, t.name().startsWith("baseline") ? "-" : String.format(Locale.ROOT, "%+.2f", ttft99 - baseTtft),
                    ms(r.interChunk(), 50), ms(r.interChunk(), 99)));
        }
        line("");

        line("## 3. Failover under load (300 req/s non-streaming through agent -> primary, standby ready)");
        line("");
        line("| fault | requests | failed | p99 before ms | worst 100 ms-window p99 after ms | back to normal after ms |");
        line("|---|---|---|---|---|---|");
        int rate = quick ? 50 : 300;
        Duration run = quick ? Duration.ofSeconds(3) : Duration.ofSeconds(10);
        Duration faultAt = quick ? Duration.ofSeconds(1) : Duration.ofSeconds(3);
        OpenLoopLoad.Result blackhole = load.run("blackhole", "http://127.0.0.1:" + agentFull.port() + "/v1/chat/completions", BODY,
                false, rate, run, faultAt, () -> primaryProxy.mode(TcpProxy.Mode.BLACKHOLE));
        failoverRow("primary blackholed (accepts, never answers)", blackhole, faultAt);
        primaryProxy.mode(TcpProxy.Mode.PASS);
        // the next fault starts from the steady state: the agent routes to the primary again
        firstServedBy("http://127.0.0.1:" + agentFull.port(), "primary-1");
        OpenLoopLoad.Result killed = load.run("kill", "http://127.0.0.1:" + agentFull.port() + "/v1/chat/completions", BODY,
                false, rate, run, faultAt, primary::kill);
        failoverRow("primary SIGKILLed", killed, faultAt);
        line("");

        line("## 4. Resources and start-up");
        line("");
        line("| process | heap limit | peak RSS MiB | CPU s over the whole run |");
        line("|---|---|---|---|");
        for (JavaProcess p : List.of(agentDirect, agentFull, streamAgent, standby, sim)) {
            String heap = p.name().startsWith("agent") ? "-Xmx128m" : p.name().startsWith("sim") ? "-Xmx256m" : "-Xmx512m";
            line(String.format(Locale.ROOT, "| %s | %s | %d | %.1f |", p.name(), heap, ProcStats.peakRssMiB(p.pid()),
                    ProcStats.cpuSeconds(p.pid())));
        }
        line("");
        line(String.format(Locale.ROOT, "Agent: first request served %.2f s after the process was spawned (JVM start included).", startupSeconds));
        line("");
        line("Reproduce: `bin/bench` (writes this file to bench/results/DATE.md; `bin/bench --quick` checks the harness).");

        Files.createDirectories(outDir);
        Path file = outDir.resolve(date + (quick ? "-quick" : "") + ".md");
        Files.writeString(file, report);
        System.out.println(report);
        System.out.println("written: " + file.toAbsolutePath());
        primaryProxy.close();
    }

    private void failoverRow(String fault, OpenLoopLoad.Result r, Duration faultAt) {
        long at = faultAt.toMillis();
        Histogram before = new Histogram(3);
        r.samples().stream().filter(s -> s.dueMillis() < at - 200 && s.dueMillis() > 500).forEach(s -> before.recordValue(s.latencyMicros()));
        double normal = before.getTotalCount() == 0 ? 0 : before.getValueAtPercentile(99) / 1000.0;
        double threshold = Math.max(normal * 2, normal + 5);
        long lastBad = -1;
        double worst = 0;
        long end = r.samples().stream().mapToLong(OpenLoopLoad.Sample::dueMillis).max().orElse(at);
        for (long w = at; w < end; w += 100) {
            long from = w;
            Histogram window = new Histogram(3);
            boolean anyFailed = false;
            for (OpenLoopLoad.Sample s : r.samples()) {
                if (s.dueMillis() >= from && s.dueMillis() < from + 100) {
                    window.recordValue(s.latencyMicros());
                    anyFailed |= !s.ok();
                }
            }
            if (window.getTotalCount() == 0) {
                continue;
            }
            double p99 = window.getValueAtPercentile(99) / 1000.0;
            worst = Math.max(worst, p99);
            if (p99 > threshold || anyFailed) {
                lastBad = from + 100;
            }
        }
        line(String.format(Locale.ROOT, "| %s | %d | %d | %.2f | %.1f | %s |", fault, r.sent(), r.failed(), normal, worst,
                lastBad < 0 ? "0 (never left normal)" : String.valueOf(lastBad - at)));
    }

    private static String agentYaml(int primaryPort, int standbyPort, String simUrl) {
        StringBuilder tiers = new StringBuilder();
        if (primaryPort > 0) {
            tiers.append("""
                      - name: primary
                        kind: relay
                        instances: [ { name: primary-1, base-url: "http://127.0.0.1:%d/v1" } ]
                    """.formatted(primaryPort));
        }
        if (standbyPort > 0) {
            tiers.append("""
                      - name: standby
                        kind: relay
                        instances: [ { name: standby-1, base-url: "http://127.0.0.1:%d/v1" } ]
                    """.formatted(standbyPort));
        }
        tiers.append("""
                  - name: direct
                    kind: direct
                """);
        return """
                server: { host: 127.0.0.1, port: 0 }
                agent:
                  retry-budget: { ratio: 0.2, min-retries: 10, window: PT10S }
                tiers:
                %s
                providers:
                  - { name: sim, kind: openai, base-url: "%s/v1" }
                routes:
                  - model: "*"
                    targets: [ { provider: sim } ]
                prices:
                  - { provider: sim, model: "*", input-per-million: 0.15, output-per-million: 0.6 }
                """.formatted(tiers, simUrl);
    }

    /** Polls until one request succeeds; returns System.nanoTime() of that success. */
    private static long firstSuccess(String base) throws InterruptedException {
        return firstServedBy(base, null);
    }

    /** When a request through {@code base} first succeeded on {@code upstream} (null: on any). */
    private static long firstServedBy(String base, String upstream) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(2)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200
                        && (upstream == null || upstream.equals(r.headers().firstValue("x-understudy-upstream").orElse("")))) {
                    return System.nanoTime();
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("no successful request from " + base
                + (upstream == null ? "" : " served by " + upstream) + " within 30 s");
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    private void line(String text) {
        report.append(text).append('\n');
    }
}
