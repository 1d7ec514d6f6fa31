package io.understudy.bench;

import io.understudy.bench.Contender.Deployment;
import io.understudy.bench.OpenLoopLoad.Outcome;
import io.understudy.bench.OpenLoopLoad.Result;
import io.understudy.bench.OpenLoopLoad.Sample;
import io.understudy.bench.OpenLoopLoad.Spec;
import io.understudy.testkit.Await;
import io.understudy.testkit.ToxiproxyServer;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * bin/bench: Understudy side by side with nginx, HAProxy, LiteLLM and Portkey, each set up as
 * primary + backup in front of provider-sim, one system at a time on this machine. Measures overhead
 * (open loop, HdrHistogram), maximum throughput (wrk), streaming, failover under load (SIGKILL and a
 * Toxiproxy blackhole of the primary) and resources. Writes bench/results/DATE.md, SVG charts and every
 * config used. {@code --quick} runs a tiny scale to check the harness; {@code --only a,b} limits the
 * systems (names as in the tables, matched case-insensitively by prefix); {@code --failover-only} runs
 * only the failover section.
 */
public final class BenchMain {
    private static final int FAILOVER_RATE = 300;
    private static final long WINDOW_MILLIS = 200;
    private static final Duration FAILOVER_DEADLINE = Duration.ofSeconds(20);

    private final boolean quick;
    /** Only the failover runs (SIGKILL, blackhole): to look at failover again and again without the rest. */
    private final boolean failoverOnly;
    private final Path runDir;
    private final Path resultsDir;
    private final String stamp;
    private final Optional<Wrk> wrk;
    private final ToxiproxyServer toxiproxy;
    private final OpenLoopLoad load = new OpenLoopLoad();
    private final StringBuilder report = new StringBuilder();

    /** What was measured for one system; a part that could not run leaves its reason in notes. */
    private static final class Row {
        final Contender contender;
        String version = "";
        Optional<String> unavailable = Optional.empty();
        final Map<Integer, Result> overhead = new LinkedHashMap<>();
        final Map<Integer, String> skipped = new LinkedHashMap<>();
        Wrk.Throughput throughput;
        Result streaming;
        Result kill;
        Result blackhole;
        /** Shares of all cores in the 2 s before and the 2 s after each fault: "b% / b% -> a% / a%". */
        String killCpu = "-";
        String blackholeCpu = "-";
        /** The load client's own GC during each run (see failover). */
        GcTotals killClientGc;
        GcTotals blackholeClientGc;
        int failoverRate;
        double cpuSeconds = -1;
        long peakRssMiB = -1;
        long processes;
        long requestsServed;
        final List<String> notes = new ArrayList<>();

        Row(Contender contender) {
            this.contender = contender;
        }

        String name() {
            return contender.name();
        }

        boolean measured() {
            return unavailable.isEmpty();
        }
    }

    private BenchMain(boolean quick, boolean failoverOnly, Path runDir, Path resultsDir, String stamp, Optional<Wrk> wrk,
                      ToxiproxyServer toxiproxy) {
        this.quick = quick;
        this.failoverOnly = failoverOnly;
        this.runDir = runDir;
        this.resultsDir = resultsDir;
        this.stamp = stamp;
        this.wrk = wrk;
        this.toxiproxy = toxiproxy;
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args, Path.of(System.getProperty("understudy.root", ".")));
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Runs the benchmark; {@code root} is the checkout whose .understudy/tools holds the peers. Returns the results file. */
    static Path run(String[] args, Path root) throws Exception {
        if (List.of(args).contains("--cli")) {
            List<String> rest = List.of(args).stream().filter(a -> !a.equals("--cli")).toList();
            return CliBench.run(root, rest.isEmpty() ? Path.of("bench/results") : Path.of(rest.get(0)), 20);
        }
        boolean quick = List.of(args).contains("--quick");
        boolean failoverOnly = List.of(args).contains("--failover-only");
        Optional<List<String>> only = Optional.empty();
        Path out = Path.of("bench/results");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick", "--failover-only" -> {
                }
                case "--only" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--only needs a comma-separated list of systems");
                    }
                    only = Optional.of(Arrays.stream(args[++i].split(",")).map(s -> s.strip().toLowerCase(Locale.ROOT)).toList());
                }
                default -> {
                    if (args[i].startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + args[i] + " (use --quick, --only a,b, --failover-only, --cli, and an output directory)");
                    }
                    out = Path.of(args[i]);
                }
            }
        }
        Peers peers = new Peers(root);
        List<Contender> all = List.of(new Baseline(), new UnderstudyContender(false), new UnderstudyContender(true),
                new NginxContender(peers), new HaproxyContender(peers), new LiteLlmContender(peers), new PortkeyContender(peers));
        List<String> filter = only.orElse(List.of());
        List<Contender> contenders = all.stream()
                .filter(c -> filter.isEmpty() || filter.stream().anyMatch(f -> c.name().toLowerCase(Locale.ROOT).startsWith(f)))
                .toList();
        if (contenders.isEmpty()) {
            throw new IllegalArgumentException("--only matched no system; systems: " + all.stream().map(Contender::name).toList());
        }
        String stamp = LocalDate.now() + (quick ? "-quick" : "");
        Path runDir = Files.createTempDirectory("understudy-bench");
        Optional<Wrk> wrk = peers.executable("wrk").map(p -> new Wrk(p, 64));
        try (ToxiproxyServer toxiproxy = new ToxiproxyServer(runDir.resolve("toxiproxy"))) {
            BenchMain bench = new BenchMain(quick, failoverOnly, runDir, out, stamp, wrk, toxiproxy);
            List<Row> rows = new ArrayList<>();
            for (Contender c : contenders) {
                System.out.println("bench: " + c.name() + " ...");
                rows.add(bench.measure(c));
            }
            return bench.write(rows, peers);
        }
    }

    // --- scale -------------------------------------------------------------------------------

    private Duration warmup() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(5);
    }

    /**
     * Warm-up before the overhead and throughput runs: a chain of three JVMs (agent, relay, sim) on two
     * shared cores needs about 30 s of load to reach its compiled steady state (measured: 1,000 req/s
     * in the first 6 s of wrk, 6,900 after 30 s), as a server does in its first minute of production.
     */
    private Duration longWarmup() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(25);
    }

    private Duration measure() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(6);
    }

    private int[] rates() {
        return quick ? new int[]{100} : new int[]{500, 1000, 2000};
    }

    private int streamRate() {
        return quick ? 20 : 100;
    }

    private int failoverRate() {
        return quick ? 50 : FAILOVER_RATE;
    }

    private Duration failoverRun() {
        return quick ? Duration.ofSeconds(3) : Duration.ofSeconds(12);
    }

    private Duration faultAt() {
        return quick ? Duration.ofSeconds(1) : Duration.ofSeconds(3);
    }

    // --- measuring ---------------------------------------------------------------------------

    private Row measure(Contender c) {
        Row row = new Row(c);
        row.unavailable = c.unavailable();
        if (row.unavailable.isPresent()) {
            System.out.println("bench: " + c.name() + " not measured: " + row.unavailable.get());
            return row;
        }
        row.version = c.version();
        if (!failoverOnly) {
            measureOverheadAndStreams(c, row);
        }
        if (c.failsOver()) {
            // a system slower than the failover rate would show its overload, not its failover: half its maximum then
            row.failoverRate = row.throughput == null ? failoverRate()
                    : (int) Math.max(10, Math.min(failoverRate(), row.throughput.requestsPerSecond() / 2));
            row.kill = failover(row, false);
            row.blackhole = failover(row, true);
        }
        return row;
    }

    /** Sections 1 to 3: overhead and throughput (provider-sim answering at once), then paced streams. */
    private void measureOverheadAndStreams(Contender c, Row row) {
        try (Stage stage = new Stage(dir(c, "overhead"), Stage.SimTiming.INSTANT, null)) {
            Deployment d = ready(c, stage, longWarmup());
            double cpuBefore = ProcStats.cpuSeconds(ProcStats.withDescendants(d.processes()));
            if (wrk.isPresent()) {
                row.throughput = wrk.get().run(stage.dir(), d.baseUrl(), d.headers(), quick ? Duration.ofSeconds(2) : Duration.ofSeconds(8));
                row.requestsServed += row.throughput.requests();
            }
            for (int rate : rates()) {
                if (row.throughput != null && rate > row.throughput.requestsPerSecond() * 1.25) {
                    row.skipped.put(rate, String.format(Locale.ROOT, "above its maximum throughput (%.0f req/s)", row.throughput.requestsPerSecond()));
                    continue;
                }
                load.run(Spec.plain(d.baseUrl(), d.headers(), rate, Duration.ofSeconds(quick ? 1 : 2)));
                row.overhead.put(rate, load.run(Spec.plain(d.baseUrl(), d.headers(), rate, measure())));
                row.requestsServed += (long) rate * ((quick ? 1 : 2) + measure().toSeconds());
            }
            List<ProcessHandle> processes = ProcStats.withDescendants(d.processes());
            row.processes = processes.size();
            row.cpuSeconds = ProcStats.cpuSeconds(processes) - cpuBefore;
            row.peakRssMiB = ProcStats.peakRssMiB(processes);
        } catch (Exception e) {
            row.notes.add("overhead run failed: " + oneLine(e));
        }
        try (Stage stage = new Stage(dir(c, "streaming"), Stage.SimTiming.PACED, null)) {
            Deployment d = ready(c, stage, warmup());
            Spec warm = new Spec(d.baseUrl(), d.headers(), streamRate(), quick ? warmup() : Duration.ofSeconds(15), 1,
                    Duration.ofSeconds(15), null, null);
            load.run(warm);
            row.streaming = load.run(new Spec(d.baseUrl(), d.headers(), streamRate(), measure(), 1, Duration.ofSeconds(15), null, null));
        } catch (Exception e) {
            row.notes.add("streaming run failed: " + oneLine(e));
        }
    }

    /** 300 req/s (or the row's rate), every other request streamed; the primary is SIGKILLed or blackholed {@link #faultAt()} in. */
    private Result failover(Row row, boolean blackhole) {
        Contender c = row.contender;
        try (Stage stage = new Stage(dir(c, blackhole ? "blackhole" : "kill"), Stage.SimTiming.PACED, blackhole ? toxiproxy : null)) {
            // the failover is measured from the steady state a primary path is in after minutes in production;
            // the standby gets none of this traffic: it is as cold as a real standby up for a minute (its rehearsal
            // over, as settle waits for, and nothing else)
            Deployment d = ready(c, stage, longWarmup());
            for (String backup : stage.backupProviders()) {
                warmDirectly(stage, backup);
            }
            if (!quick) { // the harness check need not wait out a rehearsal
                c.settle(stage, Duration.ofSeconds(120)).ifPresent(why -> row.notes.add((blackhole ? "blackhole" : "SIGKILL") + " run: " + why));
            }
            load.run(new Spec(d.baseUrl(), d.headers(), row.failoverRate, warmup(), 2, FAILOVER_DEADLINE, null, null));
            ProcessHandle primary = d.primary().orElseThrow();
            Runnable inject = blackhole ? stage::blackholePrimary : primary::destroyForcibly;
            AtomicReference<Instant> faultWallClock = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicLong faultNanos = new java.util.concurrent.atomic.AtomicLong();
            Runnable fault = () -> {
                faultWallClock.set(Instant.now());
                faultNanos.set(System.nanoTime());
                inject.run();
            };
            Result result;
            // this process is the load client: a GC pause of its own inside the run delays every request due
            // then (50-90 ms measured, on a busy machine), which the windows would charge to the system. So the
            // run starts on an empty young generation, which bin/bench makes big enough to last the run
            System.gc();
            GcTotals clientGcBefore = GcTotals.now();
            try (CpuTimeline cpu = CpuTimeline.start(d.processes())) {
                result = load.run(new Spec(d.baseUrl(), d.headers(), row.failoverRate, failoverRun(), 2, FAILOVER_DEADLINE, faultAt(), fault));
                GcTotals clientGc = GcTotals.now().since(clientGcBefore);
                if (blackhole) {
                    row.blackholeClientGc = clientGc;
                } else {
                    row.killClientGc = clientGc;
                }
                cpu.close();
                cpu.write(stage.dir().resolve("cpu.tsv"), faultNanos.get());
                long twoSeconds = TimeUnit.SECONDS.toNanos(2);
                String shares = faultNanos.get() == 0 ? "-" : shares(cpu.between(faultNanos.get() - twoSeconds, faultNanos.get()))
                        + " -> " + shares(cpu.between(faultNanos.get(), faultNanos.get() + twoSeconds));
                if (blackhole) {
                    row.blackholeCpu = shares;
                } else {
                    row.killCpu = shares;
                }
            }
            writeSamples(stage.dir().resolve("samples.tsv"), faultWallClock.get(), result);
            return result;
        } catch (Exception e) {
            row.notes.add((blackhole ? "blackhole" : "SIGKILL") + " run failed: " + oneLine(e));
            return null;
        }
    }

    /** This JVM's collections so far, and the time they took (every collector: young pauses are what count here). */
    record GcTotals(long count, long millis) {
        static GcTotals now() {
            long count = 0;
            long millis = 0;
            for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
                count += Math.max(0, gc.getCollectionCount());
                millis += Math.max(0, gc.getCollectionTime());
            }
            return new GcTotals(count, millis);
        }

        GcTotals since(GcTotals earlier) {
            return new GcTotals(count - earlier.count, millis - earlier.millis);
        }
    }

    private static String shares(CpuTimeline.Shares s) {
        return s == null ? "?" : String.format(Locale.ROOT, "%.0f%% / %.0f%%", s.machine() * 100, s.system() * 100);
    }

    /** Every request of a failover run, one per line, so a "back to normal" figure can be traced to its windows. */
    private static void writeSamples(Path file, Instant faultWallClock, Result result) throws IOException {
        StringBuilder out = new StringBuilder("# fault injected at " + faultWallClock + " (UTC)\ndue_ms\tlatency_ms\tstream\toutcome\tsend_lag_ms\n");
        for (Sample s : result.samples()) {
            out.append(s.dueMillis()).append('\t').append(String.format(Locale.ROOT, "%.1f", s.latencyMicros() / 1000.0))
                    .append('\t').append(s.stream()).append('\t').append(s.outcome())
                    .append('\t').append(String.format(Locale.ROOT, "%.1f", s.sendLagMicros() / 1000.0)).append('\n');
        }
        Files.writeString(file, out);
    }

    private Path dir(Contender c, String part) {
        return runDir.resolve(slug(c.name())).resolve(part);
    }

    /**
     * Deploys, waits until a request succeeds (on the steady-state upstream, where the system names it),
     * then warms it with a closed-loop burst: the JVM parts would otherwise be measured before their JIT.
     */
    private Deployment ready(Contender c, Stage stage, Duration warmup) throws Exception {
        Deployment d = awaitServing(c, stage);
        if (wrk.isPresent()) {
            wrk.get().run(stage.dir(), d.baseUrl(), d.headers(), warmup);
        } else {
            load.run(Spec.plain(d.baseUrl(), d.headers(), rates()[0], warmup));
        }
        return d;
    }

    /** Warms a backup provider-sim with the same burst, sent to it directly (see {@link Stage#backupProviders}). */
    private void warmDirectly(Stage stage, String origin) throws Exception {
        if (wrk.isPresent()) {
            wrk.get().run(stage.dir(), origin, Map.of(), longWarmup());
        } else {
            load.run(Spec.plain(origin, Map.of(), rates()[0], longWarmup()));
        }
    }

    private Deployment awaitServing(Contender c, Stage stage) throws Exception {
        Deployment d = c.deploy(stage);
        for (Map.Entry<String, String> config : d.configs().entrySet()) {
            Path file = resultsDir.resolve(stamp).resolve("configs").resolve(slug(c.name())).resolve(config.getKey());
            Files.createDirectories(file.getParent());
            Files.writeString(file, config.getValue());
        }
        // HTTP/1.1 as the load uses: an h2c upgrade offer sends a Connection header that some peers forward and choke on
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofMillis(500)).build();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(d.baseUrl() + "/v1/chat/completions")).timeout(Duration.ofSeconds(5))
                .header("Content-Type", "application/json").header("Authorization", "Bearer sk-bench")
                .POST(HttpRequest.BodyPublishers.ofString(OpenLoopLoad.body(false)));
        d.headers().forEach(b::header);
        HttpRequest request = b.build();
        String[] last = {"no answer"};
        try {
            Await.until(c.name() + " serving", Duration.ofSeconds(60), () -> {
                try {
                    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                    String upstream = r.headers().firstValue("x-understudy-upstream").orElse("");
                    last[0] = "HTTP " + r.statusCode() + " " + r.body().substring(0, Math.min(200, r.body().length()));
                    return r.statusCode() == 200 && d.steadyUpstream().map(upstream::equals).orElse(true);
                } catch (IOException notYet) {
                    last[0] = oneLine(notYet);
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            });
            return d;
        } catch (AssertionError timedOut) {
            throw new IllegalStateException(c.name() + " did not serve within 60 s: " + last[0]);
        }
    }

    // --- the results file --------------------------------------------------------------------

    private Path write(List<Row> rows, Peers peers) throws IOException {
        Path charts = resultsDir.resolve(stamp);
        Files.createDirectories(charts);
        Row baseline = rows.stream().filter(r -> r.contender instanceof Baseline && r.measured()).findFirst().orElse(null);
        Row nginx = rows.stream().filter(r -> r.contender instanceof NginxContender && r.measured() && r.throughput != null)
                .findFirst().orElse(null);
        Row full = rows.stream().filter(r -> r.contender instanceof UnderstudyContender u && u.fullPath()).findFirst().orElse(null);

        line("# Understudy benchmark, " + stamp + (quick ? " (quick: harness check only, numbers meaningless)" : ""));
        line("");
        line("Machine: " + Runtime.getRuntime().availableProcessors() + " cores, " + memory() + ", " + System.getProperty("os.name") + " "
                + System.getProperty("os.version") + " " + System.getProperty("os.arch") + "; load client on Java " + Runtime.version()
                + ". Everything runs on this one box over loopback, one system at a time: the load client, provider-sim and the");
        line("system under test share the cores, so compare rows of one run, not runs of different days.");
        line("");
        line("Each system sits in front of provider-sim as primary + backup, set up as its own documentation recommends for");
        line("failover; the configs used are in [" + stamp + "/configs](" + stamp + "/configs). For Understudy, \"agent only\" is the");
        line("agent's direct-provider tier with a primary and a backup provider; \"agent -> relay\" is the full path: agent ->");
        line("primary relay -> provider-sim, standby relay ready. The \"primary\" that fails is the primary provider-sim for the");
        line("peers and the agent alone, and the primary relay for the full path.");
        line("");
        line("| system | version | measured |");
        line("|---|---|---|");
        for (Row r : rows) {
            line("| " + r.name() + " | " + (r.measured() ? r.version : "-") + " | "
                    + (r.measured() ? (r.notes.isEmpty() ? "yes" : "partly: " + String.join("; ", r.notes)) : "**not installed**: " + r.unavailable.get())
                    + " |");
        }
        line("");
        line("Load: open loop at fixed rates (request i is due at start + i/rate whatever earlier ones do), latency from each");
        line("request's due time (coordinated-omission corrected), percentiles by HdrHistogram; every answer is checked against");
        line("provider-sim's deterministic text. Warm-up (JIT) with wrk: " + longWarmup().toSeconds() + " s before sections 1, 2 and 4 "
                + "(through the primary path only: a standby relay stays cold; a backup provider-sim gets the same burst directly, as a provider serving others is warm), " + warmup().toSeconds() + " s before 3 (then");
        line((quick ? warmup().toSeconds() : 15) + " s of streams before 3, " + warmup().toSeconds() + " s of the failover load before 4); each open-loop row "
                + (quick ? 1 : 2) + " s at its own rate, then " + measure().toSeconds() + " s measured. Maximum throughput: " + wrk.map(w -> "`" + w.command("URL", Duration.ofSeconds(quick ? 2 : 8))
                + "` (" + w.version() + ")").orElse("wrk is not installed: " + peers.whyMissing("wrk")) + ".");
        line("");

        line("## 1. Overhead: non-streaming, open loop");
        line("");
        line("provider-sim answers at once, so the latency is what each system adds on this machine.");
        line("");
        line("| system | rate req/s | ok | failed | p50 ms | p99 ms | p99.9 ms | p99 added vs baseline ms | p99 vs nginx ms |");
        line("|---|---|---|---|---|---|---|---|---|");
        for (int rate : rates()) {
            Result base = baseline == null ? null : baseline.overhead.get(rate);
            Result ng = nginx == null ? null : nginx.overhead.get(rate);
            for (Row r : rows) {
                if (!r.measured()) {
                    continue;
                }
                Result res = r.overhead.get(rate);
                if (res == null) {
                    line("| " + r.name() + " | " + rate + " | - | - | - | - | - | - | " + r.skipped.getOrDefault(rate, "not run") + " |");
                    continue;
                }
                double p99 = ms(res.latency(), 99);
                line(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.2f | %.2f | %s | %s |", r.name(), rate, res.ok(),
                        res.sent() - res.ok(), ms(res.latency(), 50), p99, ms(res.latency(), 99.9),
                        base == null || r == baseline ? "-" : signed(p99 - ms(base.latency(), 99)),
                        ng == null || r == nginx ? "-" : signed(p99 - ms(ng.latency(), 99))));
            }
        }
        line("");
        List<Row> at1000 = rows.stream().filter(r -> r.overhead.containsKey(quick ? rates()[0] : 1000)).toList();
        if (!at1000.isEmpty()) {
            int rate = quick ? rates()[0] : 1000;
            Files.writeString(charts.resolve("latency.svg"), Charts.percentiles("Latency at " + rate + " req/s, non-streaming (open loop)",
                    at1000.stream().map(r -> new Charts.Series(r.name(), r.overhead.get(rate).latency())).toList()));
            line("![latency percentiles](" + stamp + "/latency.svg)");
            line("");
        }

        line("## 2. Maximum throughput (wrk, closed loop, non-streaming)");
        line("");
        line("| system | req/s | errors | x baseline | x nginx |");
        line("|---|---|---|---|---|");
        List<Row> withThroughput = rows.stream().filter(r -> r.throughput != null).toList();
        for (Row r : withThroughput) {
            line(String.format(Locale.ROOT, "| %s | %,.0f | %d | %s | %s |", r.name(), r.throughput.requestsPerSecond(), r.throughput.errors(),
                    baseline == null || baseline.throughput == null ? "-" : ratio(r.throughput.requestsPerSecond(), baseline.throughput.requestsPerSecond()),
                    nginx == null ? "-" : ratio(r.throughput.requestsPerSecond(), nginx.throughput.requestsPerSecond())));
        }
        if (!withThroughput.isEmpty()) {
            Files.writeString(charts.resolve("throughput.svg"), Charts.bars("Maximum throughput (wrk, 64 connections)", "req/s",
                    withThroughput.stream().map(Row::name).toList(), withThroughput.stream().map(r -> r.throughput.requestsPerSecond()).toList()));
            line("");
            line("![throughput](" + stamp + "/throughput.svg)");
        }
        line("");

        line("## 3. Streaming: time to first token and gaps between chunks");
        line("");
        line("provider-sim sends the first token after 50 ms, then " + OpenLoopLoad.ANSWER_TOKENS + " tokens 10 ms apart; "
                + streamRate() + " streams/s.");
        line("");
        line("| system | ok | failed | truncated | TTFT p50 ms | TTFT p99 ms | TTFT p99 added ms | gap p50 ms | gap p99 ms | gap p99 added ms |");
        line("|---|---|---|---|---|---|---|---|---|---|");
        Result baseStream = baseline == null ? null : baseline.streaming;
        for (Row r : rows) {
            if (r.streaming == null) {
                continue;
            }
            Result s = r.streaming;
            line(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.2f | %s | %.2f | %.2f | %s |", r.name(), s.ok(), s.failed(), s.truncated(),
                    ms(s.ttft(), 50), ms(s.ttft(), 99), baseStream == null || r == baseline ? "-" : signed(ms(s.ttft(), 99) - ms(baseStream.ttft(), 99)),
                    ms(s.interChunk(), 50), ms(s.interChunk(), 99),
                    baseStream == null || r == baseline ? "-" : signed(ms(s.interChunk(), 99) - ms(baseStream.interChunk(), 99))));
        }
        line("");

        line("## 4. Failover under load");
        line("");
        line(failoverRate() + " req/s for " + failoverRun().toSeconds() + " s, every other request streamed (provider-sim paced as in 3,");
        line("so streams are in flight); a system whose maximum throughput (section 2) is below twice that runs at half its");
        line("maximum instead, so its rows show failover rather than overload. The primary fails " + faultAt().toSeconds() + " s in and");
        line("stays down. Each request has a hard deadline of " + FAILOVER_DEADLINE.toSeconds() + " s from its due time: not answered by then is");
        line("failed, a stream not finished by then is truncated. \"p99 before\": requests due more than 1 s before the fault.");
        line("\"Back to normal\": from the fault to the end of the last " + WINDOW_MILLIS + " ms window (by due time) whose p99 is above");
        line("1.25 x the p99 before + 5 ms, or that holds a failed or truncated request; \"overloaded before the fault\" when the p99");
        line("before is over twice provider-sim's own stream time or a request before the fault failed. \"CPU\": how busy the whole machine");
        line("(everything on it: load client, provider-sims, Toxiproxy, the system) and the system's own processes were in the 2 s");
        line("before the fault and the 2 s after it, as shares of all cores; near 100% requests also wait for a core, not only for a verdict.");
        line("Every 100 ms of it is in cpu.tsv beside the run's samples.tsv.");
        line("");
        for (boolean blackhole : new boolean[]{false, true}) {
            line(blackhole ? "### Primary blackholed (Toxiproxy timeout 0: accepts, never answers)" : "### Primary SIGKILLed");
            line("");
            line("| system | rate req/s | requests | failed non-streaming | failed streams | truncated streams | p99 before ms | worst window p99 ms | back to normal | CPU before -> after: machine / system |");
            line("|---|---|---|---|---|---|---|---|---|---|");
            List<Charts.Timeline> timelines = new ArrayList<>();
            List<String> overloaded = new ArrayList<>();
            for (Row r : rows) {
                Result res = blackhole ? r.blackhole : r.kill;
                if (res == null) {
                    continue;
                }
                FailoverStats f = FailoverStats.of(res, faultAt().toMillis(), failoverRun().toMillis());
                String cpuAfter = blackhole ? r.blackholeCpu : r.killCpu;
                line(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %.1f | %.1f | %s | %s |", r.name(), r.failoverRate, res.sent(), f.failedPlain(), f.failedStreams(),
                        res.truncated(), f.normalP99(), f.worstP99(), f.backToNormal(), cpuAfter));
                timelines.add(new Charts.Timeline(r.name(), res.samples()));
                f.overloadNote(r.name(), r.failoverRate).ifPresent(note -> overloaded.add(note));
            }
            for (String note : overloaded) {
                line("");
                line(note);
            }
            for (Row r : rows) {
                GcTotals gc = blackhole ? r.blackholeClientGc : r.killClientGc;
                if (gc != null) {
                    line("");
                    line(r.name() + ": the load client's own GC " + (gc.count() == 0 ? "did not pause it during the run."
                            : "paused it " + gc.count() + " time(s), " + gc.millis() + " ms in all, during the run: a window holding such a pause is slow for that reason too."));
                }
            }
            if (!timelines.isEmpty()) {
                String file = blackhole ? "failover-blackhole.svg" : "failover-kill.svg";
                Files.writeString(charts.resolve(file), Charts.failover(blackhole ? "Primary blackholed under load" : "Primary SIGKILLed under load",
                        timelines, faultAt().toMillis(), WINDOW_MILLIS));
                line("");
                line("![" + file + "](" + stamp + "/" + file + ")");
            }
            line("");
        }

        line("## 5. Resources");
        line("");
        line("The system's own processes (and their children; not provider-sim): CPU over the measured runs of sections 1 and");
        line("2 (warm-up excluded); peak RSS is the sum of each process's peak, warm-up included.");
        line("");
        line("| system | processes | requests served | CPU s | CPU ms per 1,000 requests | peak RSS MiB |");
        line("|---|---|---|---|---|---|");
        for (Row r : rows) {
            if (r.cpuSeconds < 0) {
                continue;
            }
            line(String.format(Locale.ROOT, "| %s | %d | %,d | %.1f | %.0f | %d |", r.name(), r.processes, r.requestsServed, r.cpuSeconds,
                    r.requestsServed == 0 ? 0 : 1e6 * r.cpuSeconds / r.requestsServed, r.peakRssMiB));
        }
        line("");

        line("## 6. Understudy against its targets");
        line("");
        line("| target | result | met |");
        line("|---|---|---|");
        targets(rows, full, nginx, baseline);
        line("");
        line("Reproduce: `bin/bench` (installs what is missing, then writes this file to bench/results/DATE.md);");
        line("`bin/bench --quick` checks the harness at a tiny scale.");

        Path file = resultsDir.resolve(stamp + ".md");
        Files.writeString(file, report);
        System.out.println(report);
        System.out.println("written: " + file.toAbsolutePath());
        return file;
    }

    /**
     * The performance issue's targets (issue 14, with issue 10's failover numbers), for the agent alone
     * and the full path, judged from this run's numbers: a row per target whose inputs were measured.
     */
    private void targets(List<Row> rows, Row full, Row nginx, Row baseline) {
        Row alone = rows.stream().filter(r -> r.contender instanceof UnderstudyContender u && !u.fullPath() && r.measured())
                .findFirst().orElse(null);
        if ((full == null || !full.measured()) && alone == null) {
            line("| (Understudy was not measured) | - | - |");
            return;
        }
        int rate = quick ? rates()[0] : 1000;
        for (Row u : java.util.Arrays.asList(alone, full)) {
            if (u == null || !u.measured()) {
                continue;
            }
            boolean isFull = u == full;
            String who = isFull ? "full path" : "agent alone";
            if (nginx != null && u.overhead.containsKey(rate) && nginx.overhead.containsKey(rate)) {
                double d = ms(u.overhead.get(rate).latency(), 99) - ms(nginx.overhead.get(rate).latency(), 99);
                double bound = isFull ? 1 : 0.5;
                target(who + ": p99 at " + rate + " req/s within " + bound + " ms of nginx's", signed(d) + " ms", d <= bound);
            }
            if (u.throughput != null) {
                if (nginx != null) {
                    double x = u.throughput.requestsPerSecond() / nginx.throughput.requestsPerSecond();
                    double bound = isFull ? 0.3 : 0.6;
                    target(who + ": throughput at least " + bound + "x nginx's", String.format(Locale.ROOT, "%.2fx", x), x >= bound);
                }
                for (Class<?> gateway : List.of(LiteLlmContender.class, PortkeyContender.class)) {
                    rows.stream().filter(r -> gateway.isInstance(r.contender) && r.throughput != null).findFirst().ifPresent(peer -> {
                        double x = u.throughput.requestsPerSecond() / peer.throughput.requestsPerSecond();
                        target(who + ": throughput ahead of " + peer.name() + "'s", String.format(Locale.ROOT, "%.2fx", x), x > 1);
                    });
                }
            }
            if (u.streaming != null && baseline != null && baseline.streaming != null) {
                double d = ms(u.streaming.ttft(), 99) - ms(baseline.streaming.ttft(), 99);
                double bound = isFull ? 2 : 1;
                target(who + ": time to first token added at most " + bound + " ms at p99", signed(d) + " ms", d <= bound);
            }
            if (!isFull && u.cpuSeconds >= 0 && u.requestsServed > 0) {
                double perThousand = 1e6 * u.cpuSeconds / u.requestsServed;
                target(who + ": CPU at most 50 ms per 1,000 requests", String.format(Locale.ROOT, "%.0f ms", perThousand), perThousand <= 50);
            }
            if (!isFull && u.peakRssMiB >= 0) {
                target(who + ": peak RSS at most 200 MiB", u.peakRssMiB + " MiB", u.peakRssMiB <= 200);
            }
            for (boolean blackhole : new boolean[]{false, true}) {
                Result res = blackhole ? u.blackhole : u.kill;
                if (res != null) {
                    FailoverStats f = FailoverStats.of(res, faultAt().toMillis(), failoverRun().toMillis());
                    String fault = blackhole ? "blackhole" : "SIGKILL";
                    long lost = f.failedPlain() + f.failedStreams() + res.truncated();
                    target(who + ": nothing failed or truncated on " + fault, String.valueOf(lost), lost == 0);
                    target(who + ": back to normal within 1 s of " + fault, f.backToNormal(),
                            f.backToNormalMillis() >= 0 && f.backToNormalMillis() <= 1000);
                }
            }
        }
    }

    private void target(String what, String result, boolean met) {
        line("| " + what + " | " + result + " | " + (met ? "yes" : "**no**") + " |");
    }

    /**
     * A p99 before the fault above this says the system was not carrying the failover load at all: twice what
     * provider-sim's own paced stream takes (first token, then every token), the slowest answer of the mix.
     */
    static final double OVERLOADED_BEFORE_MILLIS = 2.0 * (Stage.SimTiming.PACED.firstTokenMillis()
            + Stage.SimTiming.PACED.tokens() * Stage.SimTiming.PACED.tokenGapMillis());

    /**
     * The failover figures of one run. backToNormalMillis is -1 when it never got back within the run;
     * failedBefore counts requests due before the fault (see {@code beforeEnd}) that did not end OK.
     */
    record FailoverStats(long failedPlain, long failedStreams, double normalP99, double worstP99, long backToNormalMillis,
                         long failedBefore) {
        static FailoverStats of(Result r, long faultAt, long runMillis) {
            long failedPlain = r.samples().stream().filter(s -> !s.stream() && s.outcome() == Outcome.FAILED).count();
            long failedStreams = r.samples().stream().filter(s -> s.stream() && s.outcome() == Outcome.FAILED).count();
            // requests due just before the fault are still in flight when it hits: "before" stops short of it
            long beforeEnd = faultAt >= 2000 ? faultAt - 1000 : faultAt * 2 / 3;
            long failedBefore = r.samples().stream().filter(s -> s.dueMillis() < beforeEnd && s.outcome() != Outcome.OK).count();
            Histogram before = new Histogram(3);
            r.samples().stream().filter(s -> s.dueMillis() < beforeEnd).forEach(s -> before.recordValue(Math.max(1, s.latencyMicros())));
            double normal = before.getTotalCount() == 0 ? 0 : before.getValueAtPercentile(99) / 1000.0;
            double threshold = normal * 1.25 + 5;
            double worst = 0;
            long lastBadEnd = -1;
            for (long from = 0; from < runMillis; from += WINDOW_MILLIS) {
                long f = from;
                List<Sample> in = r.samples().stream().filter(s -> s.dueMillis() >= f && s.dueMillis() < f + WINDOW_MILLIS).toList();
                if (in.isEmpty()) {
                    continue;
                }
                Histogram window = new Histogram(3);
                in.forEach(s -> window.recordValue(Math.max(1, s.latencyMicros())));
                double p99 = window.getValueAtPercentile(99) / 1000.0;
                if (from >= faultAt - WINDOW_MILLIS) {
                    worst = Math.max(worst, p99);
                }
                if (p99 > threshold || in.stream().anyMatch(s -> s.outcome() != Outcome.OK)) {
                    lastBadEnd = from + WINDOW_MILLIS;
                }
            }
            long back = lastBadEnd < 0 ? 0 : lastBadEnd >= runMillis ? -1 : Math.max(0, lastBadEnd - faultAt);
            return new FailoverStats(failedPlain, failedStreams, normal, worst, back, failedBefore);
        }

        /**
         * The system was not keeping up with the load before the fault (a slow machine, or a system that
         * cannot carry the rate): whatever came after shows overload, not how it failed over.
         */
        boolean overloadedBefore() {
            return failedBefore > 0 || normalP99 > OVERLOADED_BEFORE_MILLIS;
        }

        String backToNormal() {
            return overloadedBefore() ? "overloaded before the fault"
                    : backToNormalMillis < 0 ? "not within the run" : backToNormalMillis == 0 ? "never left it" : backToNormalMillis + " ms";
        }

        /** Why the row shows overload (for the line under its table), or empty when the system kept up before the fault. */
        Optional<String> overloadNote(String system, int rate) {
            if (!overloadedBefore()) {
                return Optional.empty();
            }
            return Optional.of(String.format(Locale.ROOT, "%s was overloaded before the fault: p99 %.0f ms (provider-sim's own stream takes"
                    + " %.0f ms)%s. This machine did not carry %d req/s of this mix through it, so its row shows overload, not"
                    + " failover (a slow machine shows in the baseline's throughput, section 2 of a full run).",
                    system, normalP99, OVERLOADED_BEFORE_MILLIS / 2,
                    failedBefore == 0 ? "" : ", and " + failedBefore + " request(s) due before it did not end OK", rate));
        }
    }

    // --- small helpers -----------------------------------------------------------------------

    private static String memory() {
        try {
            String total = Files.readAllLines(Path.of("/proc/meminfo")).getFirst().replaceAll("[^0-9]", "");
            return (Long.parseLong(total) / 1024 / 1024) + " GiB RAM";
        } catch (IOException | RuntimeException e) {
            return "? RAM";
        }
    }

    static String slug(String name) {
        return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static String signed(double v) {
        return String.format(Locale.ROOT, "%+.2f", v);
    }

    private static String ratio(double a, double b) {
        return b <= 0 ? "-" : String.format(Locale.ROOT, "%.2f", a / b);
    }

    private void line(String text) {
        report.append(text).append('\n');
    }
}
