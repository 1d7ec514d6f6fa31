package io.understudy.bench;

import io.understudy.testkit.Await;
import io.understudy.testkit.Ports;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bin/soak [--minutes N] [--rate R] [--out DIR]}: the appliance as {@code understudy up}
 * runs it (on free ports), under mixed traffic (chat and Messages, streamed and not) for N minutes
 * (default 30), with a fault every few minutes in turn: the primary SIGKILLed and started again, the
 * primary stalled (SIGSTOP) for 10 s, a 429 storm at the provider for 30 s. Every 10 s it samples
 * each process's resident memory, heap after a full GC (jcmd GC.run, then jstat), open file
 * descriptors and threads; at the end it fits a line to each (after a warm-up) and fails when one
 * grows faster than its bound. Writes soak.md, soak.html (a chart per measure) and samples.tsv.
 */
public final class SoakMain {
    /** Growth per hour allowed, after the warm-up. */
    static final Map<String, Double> BOUNDS = Map.of("rss_mib", 64.0, "heap_after_gc_mib", 16.0, "fds", 20.0, "threads", 20.0);
    private static final Duration SAMPLE_EVERY = Duration.ofSeconds(10);
    private static final Duration WARM_UP = Duration.ofMinutes(3);
    /**
     * The shortest steady span a slope is judged over. A primary started again by the soak lives
     * about five minutes, its pools filling to the load it gets back: over that span a step of ten
     * descriptors reads as hundreds per hour. Shorter lives are charted and listed, not judged.
     */
    private static final Duration JUDGED_SPAN = Duration.ofMinutes(10);
    /**
     * Processes charted but not judged: provider-sim stands in for the provider, and keeps its last
     * 200,000 attempts for the tests that read them (tens of MiB when full), a log still filling
     * during a soak.
     */
    private static final java.util.Set<String> NOT_JUDGED = java.util.Set.of("sim");
    /**
     * When each kind of fault had happened once (seconds into the soak). Growth is fitted from then:
     * the first storm sizes the connection pools (up to their cap), which is a plateau, not a leak;
     * a leak keeps growing with each repetition, and every fault repeats after this.
     */
    private volatile long firstRoundEndSeconds;

    /** One sample of one process. */
    record Sample(long atSeconds, String part, long pid, double rssMiB, double heapAfterGcMiB, int fds, int threads) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Sample> samples = new CopyOnWriteArrayList<>();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    /** Why requests were not answered whole, by reason and the fault in effect when they were sent. */
    private final Map<String, AtomicLong> failures = new java.util.concurrent.ConcurrentHashMap<>();
    /** The fault under way, or "no fault". */
    private volatile String currentFault = "no fault";
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Process> restarted = new ArrayList<>();
    private final long origin = System.nanoTime();

    /**
     * Keep-alive connections the load client keeps to the agent. The JDK's client keeps every one
     * it ever opened by default, and reuses them in turn, so each burst (requests waiting out a 429
     * storm) would leave the agent holding that many more sockets for good: the client's growth,
     * measured as the agent's. App SDKs bound theirs (httpx, under the OpenAI and Anthropic Python
     * SDKs, keeps 20); this one keeps 64.
     */
    static final int CLIENT_POOL = 64;

    public static void main(String[] args) throws Exception {
        System.setProperty("jdk.httpclient.connectionPoolSize", String.valueOf(CLIENT_POOL)); // before the first client
        int minutes = 30;
        int rate = 20;
        Path out = Path.of("target", "soak-" + Instant.now().toString().replace(":", ""));
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--minutes" -> minutes = Integer.parseInt(args[i + 1]);
                case "--rate" -> rate = Integer.parseInt(args[i + 1]);
                case "--out" -> out = Path.of(args[i + 1]);
                default -> {
                    System.err.println("soak: unknown option " + args[i] + " (--minutes N, --rate R, --out DIR)");
                    System.exit(2);
                }
            }
        }
        if (minutes < 5 || rate < 1 || rate > 500) {
            System.err.println("soak: --minutes must be 5 or more (3 are warm-up), --rate from 1 to 500");
            System.exit(2);
        }
        System.exit(new SoakMain().run(minutes, rate, out));
    }

    private long seconds() {
        return (System.nanoTime() - origin) / 1_000_000_000L;
    }

    private int run(int minutes, int rate, Path out) throws Exception {
        Files.createDirectories(out);
        int base = Ports.freeBlock(6);
        Path state = out.resolve("state").toAbsolutePath();
        String agent = "http://127.0.0.1:" + (base + 3);
        String sim = "http://127.0.0.1:" + base;
        Process up = java(out.resolve("up.log"), "256m", List.of("up", "--sim", "--ports-from", String.valueOf(base), "--state-dir", state.toString()));
        Thread stopOnExit = new Thread(() -> stop(up)); // Ctrl-C or SIGTERM: the appliance goes too
        Runtime.getRuntime().addShutdownHook(stopOnExit);
        try {
            Await.until("the appliance up, its agent following a leader", Duration.ofSeconds(120),
                    () -> get(agent + "/status").contains("\"instance\":\"primary-1\""));
            System.out.println("soak: appliance up (agent " + agent + "), " + rate + " requests/s for " + minutes + " min into " + out);
            Thread load = Thread.ofPlatform().name("soak-load").start(() -> load(agent, rate));
            long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
            long nextFault = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            int fault = 0;
            while (System.nanoTime() < end) {
                sample(up);
                if (System.nanoTime() >= nextFault) {
                    fault(fault++ % 3, up, state, sim);
                    if (fault == 3) {
                        firstRoundEndSeconds = seconds();
                    }
                    if (!currentFault.startsWith("the time after")) {
                        currentFault = "the time after the " + currentFault;
                    }
                    nextFault = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                }
                Thread.sleep(SAMPLE_EVERY.toMillis());
            }
            running.set(false);
            load.join(30_000);
            return report(out, minutes, rate);
        } finally {
            stop(up);
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        }
    }

    private void stop(Process up) {
        running.set(false);
        restarted.forEach(Process::destroy);
        up.destroy();
        try {
            if (!up.waitFor(60, TimeUnit.SECONDS)) {
                up.descendants().forEach(ProcessHandle::destroyForcibly);
                up.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            up.descendants().forEach(ProcessHandle::destroyForcibly);
            up.destroyForcibly();
        }
    }

    // ------------------------------------------------------------------ load

    /** Chat and Messages, streamed and not, in turn; each answer checked for a whole body. */
    private void load(String agent, int rate) {
        try {
            io.understudy.cli.Pacer.run(rate, Long.MAX_VALUE, running::get,
                    (seq, due) -> Thread.ofVirtual().start(() -> send(agent, (int) (seq % 4), seq)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void send(String agent, int shape, long seq) {
        boolean stream = shape % 2 == 1;
        boolean anthropic = shape >= 2;
        String body = anthropic
                ? "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"soak " + seq + "\"}]}"
                : "{\"model\":\"gpt-4o-mini\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"soak " + seq + "\"}]}";
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(agent + (anthropic ? "/v1/messages" : "/v1/chat/completions")))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            String during = currentFault;
            Optional<String> why = whyNotWhole(r.statusCode(), r.body(), stream, anthropic);
            if (why.isEmpty()) {
                ok.incrementAndGet();
            } else {
                failed(why.get(), during);
            }
        } catch (IOException e) {
            failed(e.getClass().getSimpleName(), currentFault);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final java.util.regex.Pattern ERROR_CODE = java.util.regex.Pattern.compile("\"code\"\\s*:\\s*\"([A-Za-z0-9_]+)\"");
    private static final java.util.regex.Pattern ERROR_TYPE = java.util.regex.Pattern.compile("\"type\"\\s*:\\s*\"([A-Za-z0-9_]+)\"");

    /** Why an answer is not whole, in a few words (the error's code, else its type); empty when it is. */
    static Optional<String> whyNotWhole(int status, String body, boolean stream, boolean anthropic) {
        if (status != 200) {
            return Optional.of("HTTP " + status + errorName(body));
        }
        int inBand = body.indexOf("event: error");
        if (stream && inBand >= 0) {
            return Optional.of("stream ended by an error event" + errorName(body.substring(inBand)));
        }
        if (stream && !(anthropic ? body.contains("message_stop") : body.contains("[DONE]"))) {
            return Optional.of("stream cut without its end");
        }
        return Optional.empty();
    }

    private static String errorName(String body) {
        java.util.regex.Matcher code = ERROR_CODE.matcher(body);
        if (code.find()) {
            return " " + code.group(1);
        }
        java.util.regex.Matcher type = ERROR_TYPE.matcher(body);
        return type.find() ? " " + type.group(1) : "";
    }

    private void failed(String why, String during) {
        failed.incrementAndGet();
        failures.computeIfAbsent(why + " (during " + during + ")", k -> new AtomicLong()).incrementAndGet();
    }

    // ------------------------------------------------------------------ faults

    private void fault(int which, Process up, Path state, String sim) throws Exception {
        Optional<ProcessHandle> primary = part(up, "primary");
        switch (which) {
            case 0 -> {
                if (primary.isEmpty()) {
                    return;
                }
                event("SIGKILL the primary relay (pid " + primary.get().pid() + "), then start it again");
                currentFault = "primary kill";
                primary.get().destroyForcibly();
                primary.get().onExit().get(10, TimeUnit.SECONDS);
                Thread.sleep(5_000);
                restarted.add(java(state.resolve("logs").resolve("primary-restarted-" + seconds() + ".log"), "512m",
                        List.of("relay", "--role", "primary", "--config", state.resolve("config").resolve("primary.yaml").toString())));
            }
            case 1 -> {
                if (primary.isEmpty()) {
                    return;
                }
                event("SIGSTOP the primary relay for 10 s");
                currentFault = "primary stop";
                signal("STOP", primary.get().pid());
                Thread.sleep(10_000);
                signal("CONT", primary.get().pid());
            }
            default -> {
                event("429 storm at the provider for 30 s (every 2nd request, Retry-After 1)");
                currentFault = "429 storm";
                http.send(HttpRequest.newBuilder(URI.create(sim + "/sim/storm")).header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"mode\":\"429-retry-after\",\"every\":2,\"retry_after\":1}")).build(),
                        HttpResponse.BodyHandlers.discarding());
                Thread.sleep(30_000);
                http.send(HttpRequest.newBuilder(URI.create(sim + "/sim/storm")).DELETE().build(), HttpResponse.BodyHandlers.discarding());
            }
        }
    }

    private void event(String what) {
        events.add(String.format(Locale.ROOT, "%d:%02d %s", seconds() / 60, seconds() % 60, what));
        System.out.println("soak: " + events.get(events.size() - 1));
    }

    private static void signal(String signal, long pid) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).inheritIO().start().waitFor(5, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ sampling

    /** The process of a part of the appliance, found by its command line (the primary may have been restarted by the soak). */
    private Optional<ProcessHandle> part(Process up, String name) {
        List<ProcessHandle> all = new ArrayList<>(up.descendants().toList());
        restarted.forEach(p -> all.add(p.toHandle()));
        return all.stream().filter(ProcessHandle::isAlive).filter(p -> {
            String line = commandLine(p.pid());
            return switch (name) {
                case "primary" -> line.contains("relay --role primary");
                case "standby" -> line.contains("relay --role standby");
                case "agent" -> line.contains("io.understudy.cli.Main agent");
                case "sim" -> line.contains("io.understudy.cli.Main sim");
                default -> false;
            };
        }).findFirst();
    }

    private void sample(Process up) {
        for (String name : List.of("agent", "primary", "standby", "sim")) {
            part(up, name).ifPresent(p -> {
                long pid = p.pid();
                Map<String, String> status = procStatus(pid);
                double rss = kib(status.get("VmRSS")) / 1024.0;
                int threads = Integer.parseInt(status.getOrDefault("Threads", "0").trim());
                int fds = Optional.ofNullable(Path.of("/proc", String.valueOf(pid), "fd").toFile().list()).map(a -> a.length).orElse(0);
                samples.add(new Sample(seconds(), name, pid, rss, heapAfterGc(pid), fds, threads));
            });
        }
    }

    /** The whole command line from /proc (ProcessHandle.Info gave none for these long class paths). */
    private static String commandLine(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", String.valueOf(pid), "cmdline"))).replace('\0', ' ');
        } catch (IOException gone) {
            return "";
        }
    }

    private static Map<String, String> procStatus(long pid) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    out.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException gone) {
            // the process ended between finding and reading it
        }
        return out;
    }

    private static long kib(String value) {
        return value == null ? 0 : Long.parseLong(value.replaceAll("[^0-9]", ""));
    }

    /** Heap in use right after a full collection: jcmd GC.run, then jstat's used columns (KiB). */
    private static double heapAfterGc(long pid) {
        try {
            Path jdk = Path.of(System.getProperty("java.home"), "bin");
            new ProcessBuilder(jdk.resolve("jcmd").toString(), String.valueOf(pid), "GC.run").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
            Process jstat = new ProcessBuilder(jdk.resolve("jstat").toString(), "-gc", String.valueOf(pid)).redirectErrorStream(true).start();
            List<String> lines = new String(jstat.getInputStream().readAllBytes()).lines().toList();
            jstat.waitFor(10, TimeUnit.SECONDS);
            if (lines.size() < 2) {
                return 0;
            }
            String[] head = lines.get(0).trim().split("\\s+");
            String[] values = lines.get(1).trim().split("\\s+");
            double used = 0;
            for (int i = 0; i < head.length && i < values.length; i++) {
                if (List.of("S0U", "S1U", "EU", "OU").contains(head[i])) {
                    used += Double.parseDouble(values[i]);
                }
            }
            return used / 1024.0;
        } catch (IOException | RuntimeException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    // ------------------------------------------------------------------ report

    /** Whether a process's growth is judged: one of the appliance's own, steady long enough for a slope to mean growth. */
    static boolean judged(String part, long steadySeconds) {
        return !NOT_JUDGED.contains(part) && steadySeconds >= JUDGED_SPAN.toSeconds();
    }

    /**
     * Growth per hour of the peaks: the highest value in the last third of {@code points} less the
     * highest in the first third, over the time between the thirds' middles. Pools that a storm fills
     * to their cap, then shrink when idle and fill again at the next storm, reach the same peak each
     * time; a leak's peak climbs with each repetition.
     */
    static double peakGrowthPerHour(List<double[]> points) {
        int n = points.size();
        if (n < 3) {
            return 0;
        }
        List<double[]> first = points.subList(0, n / 3);
        List<double[]> last = points.subList(n - n / 3, n);
        double hours = (last.get(last.size() / 2)[0] - first.get(first.size() / 2)[0]) / 3600;
        double grown = last.stream().mapToDouble(p -> p[1]).max().orElse(0) - first.stream().mapToDouble(p -> p[1]).max().orElse(0);
        return hours <= 0 ? 0 : grown / hours;
    }

    /** A least-squares slope, per hour, of {@code value} over time. */
    static double slopePerHour(List<double[]> points) {
        int n = points.size();
        if (n < 3) {
            return 0;
        }
        double mx = points.stream().mapToDouble(p -> p[0]).average().orElse(0);
        double my = points.stream().mapToDouble(p -> p[1]).average().orElse(0);
        double num = 0;
        double den = 0;
        for (double[] p : points) {
            num += (p[0] - mx) * (p[1] - my);
            den += (p[0] - mx) * (p[0] - mx);
        }
        return den == 0 ? 0 : num / den * 3600;
    }

    private int report(Path out, int minutes, int rate) throws IOException {
        StringBuilder tsv = new StringBuilder("seconds\tpart\tpid\trss_mib\theap_after_gc_mib\tfds\tthreads\n");
        samples.forEach(s -> tsv.append(String.format(Locale.ROOT, "%d\t%s\t%d\t%.1f\t%.1f\t%d\t%d%n", s.atSeconds(), s.part(), s.pid(),
                s.rssMiB(), s.heapAfterGcMiB(), s.fds(), s.threads())));
        Files.writeString(out.resolve("samples.tsv"), tsv.toString());
        List<String> violations = new ArrayList<>();
        List<String> plateaus = new ArrayList<>();
        int judgedProcesses = 0;
        StringBuilder md = new StringBuilder("# Understudy soak\n\n").append(minutes).append(" minutes at ").append(rate)
                .append(" requests/s (chat and Messages, streamed and not) through the agent of `understudy up`; ")
                .append(ok.get()).append(" answered whole, ").append(failed.get()).append(" not. The load client keeps at most ")
                .append(CLIENT_POOL).append(" idle connections to the agent, as app SDKs do.\n\nFaults:\n");
        events.forEach(e -> md.append("- ").append(e).append('\n'));
        if (!failures.isEmpty()) {
            md.append("\nRequests not answered whole, by why and when:\n");
            new java.util.TreeMap<>(failures).forEach((why, n) -> md.append("- ").append(n.get()).append(" x ").append(why).append('\n'));
        }
        md.append("\nGrowth per hour after the first ").append(WARM_UP.toMinutes()).append(" minutes of each process and after the first round of faults (")
                .append(firstRoundEndSeconds / 60).append(String.format(Locale.ROOT, ":%02d", firstRoundEndSeconds % 60))
                .append("; each fault then repeats, so a leak shows) (least squares over a sample every ")
                .append(SAMPLE_EVERY.toSeconds()).append(" s; a restarted process is measured from its restart). A slope is judged over ")
                .append(JUDGED_SPAN.toMinutes()).append(" steady minutes or more (a primary the soak started again lives about five,"
                        + " its pools filling: charted, not judged); provider-sim stands in for the provider and is charted, not judged."
                        + " A measure grows when its fitted slope is above its bound and so is the climb of its peaks (the highest value in"
                        + " the last third of the span against the first): pools a storm fills, that shrink when idle and fill again at the"
                        + " next storm, dip and return to the same peak, which a line fitted through the dip reads as growth. Bounds: ");
        BOUNDS.forEach((k, v) -> md.append(k).append(" ").append(v).append("/h; "));
        md.append("\n\n| process | pid | samples | judged | RSS MiB (last) | RSS MiB/h | heap after GC MiB (last) | heap MiB/h | fds (last) | fds/h | threads (last) | threads/h |\n")
                .append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        StringBuilder html = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>Understudy soak</title></head><body>");
        Map<String, List<Charts.Line>> charts = new LinkedHashMap<>();
        for (String measure : List.of("rss_mib", "heap_after_gc_mib", "fds", "threads")) {
            charts.put(measure, new ArrayList<>());
        }
        Map<String, List<Sample>> byProcess = new LinkedHashMap<>();
        samples.forEach(s -> byProcess.computeIfAbsent(s.part() + " " + s.pid(), k -> new ArrayList<>()).add(s));
        for (Map.Entry<String, List<Sample>> e : byProcess.entrySet()) {
            List<Sample> all = e.getValue();
            long from = Math.max(all.get(0).atSeconds() + WARM_UP.toSeconds(), firstRoundEndSeconds);
            List<Sample> steady = all.stream().filter(s -> s.atSeconds() >= from).toList();
            Sample last = all.get(all.size() - 1);
            long steadySeconds = steady.isEmpty() ? 0 : steady.get(steady.size() - 1).atSeconds() - steady.get(0).atSeconds();
            boolean judged = judged(last.part(), steadySeconds);
            judgedProcesses += judged ? 1 : 0;
            md.append("| ").append(last.part()).append(" | ").append(last.pid()).append(" | ").append(steady.size())
                    .append(" | ").append(judged ? "yes" : NOT_JUDGED.contains(last.part()) ? "no (stands in for the provider)"
                            : String.format(Locale.ROOT, "no (%d min steady)", steadySeconds / 60));
            for (String measure : List.of("rss_mib", "heap_after_gc_mib", "fds", "threads")) {
                List<double[]> points = steady.stream().map(s -> new double[] {s.atSeconds(), value(s, measure)}).toList();
                double slope = slopePerHour(points);
                double peaks = peakGrowthPerHour(points);
                md.append(String.format(Locale.ROOT, " | %.1f | %+.1f", value(last, measure), slope));
                if (judged && slope > BOUNDS.get(measure) && peaks > BOUNDS.get(measure)) {
                    violations.add(last.part() + " (pid " + last.pid() + "): " + measure + String.format(Locale.ROOT, " grows %.1f/h, its peaks %.1f/h",
                            slope, peaks) + " (bound " + BOUNDS.get(measure) + "/h)");
                } else if (judged && slope > BOUNDS.get(measure)) {
                    plateaus.add(last.part() + " (pid " + last.pid() + "): " + measure + String.format(Locale.ROOT,
                            " fits %+.1f/h, but its peak in the last third is where it was in the first (%+.1f/h): refilled to the same level", slope, peaks));
                }
                charts.get(measure).add(new Charts.Line(e.getKey(), all.stream().map(s -> new double[] {s.atSeconds(), value(s, measure)}).toList()));
            }
            md.append(" |\n");
        }
        if (judgedProcesses == 0) {
            violations.add("no process ran " + JUDGED_SPAN.toMinutes() + " steady minutes: nothing was judged (run 25 minutes or more)");
        }
        plateaus.forEach(p -> md.append("\nNot growth: ").append(p).append('\n'));
        md.append("\nVerdict: ").append(violations.isEmpty() ? "**passed**" : "**FAILED**: " + String.join("; ", violations)).append('\n');
        charts.forEach((measure, lines) -> html.append(Charts.lines(measure, measure, lines)));
        html.append("</body></html>\n");
        Files.writeString(out.resolve("soak.md"), md.toString());
        Files.writeString(out.resolve("soak.html"), html.toString());
        System.out.print(md);
        return violations.isEmpty() ? 0 : 1;
    }

    private static double value(Sample s, String measure) {
        return switch (measure) {
            case "rss_mib" -> s.rssMiB();
            case "heap_after_gc_mib" -> s.heapAfterGcMiB();
            case "fds" -> s.fds();
            default -> s.threads();
        };
    }

    // ------------------------------------------------------------------ helpers

    /** The launcher's Main in a JVM of its own (as `up` starts its parts), with this classpath. */
    private static Process java(Path log, String heap, List<String> args) throws IOException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx" + heap,
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), "io.understudy.cli.Main"));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private String get(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
