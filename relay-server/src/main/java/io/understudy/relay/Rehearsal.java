package io.understudy.relay;

import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import io.understudy.core.Glob;
import io.understudy.core.config.ProviderConfigs;
import io.understudy.core.pricing.Price;
import io.understudy.core.pricing.PriceTable;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
import io.understudy.core.routing.Route;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * A relay process rehearses its own request paths while nobody needs it: a throwaway relay with the
 * same code, on a loopback port, in front of an in-process provider-sim, gets chat (plain and
 * streamed), Messages, Responses, embeddings and model-list requests. The JVM compiles those paths then, so the
 * first real requests, which for a standby arrive all at once when the primary dies, run compiled
 * code instead of the interpreter. It ends when the JIT has had nothing more to compile for a while
 * (the paths are compiled), when the first real request arrives (real traffic warms it from there),
 * or at the configured bound. Nothing of it is kept: no metrics, receipts or log lines of the real
 * relay (Helidon's lines for the throwaway port aside), and no provider is called.
 */
final class Rehearsal {
    private static final Logger LOG = Logger.getLogger(Rehearsal.class.getName());
    /** Requests in flight at once: the concurrent paths are exercised, and a core is left to the relay's traffic. */
    private static final int CLIENTS = 2;
    /**
     * How the JIT's progress is judged: over a window of at least a second and at least
     * {@value #PLATEAU_REQUESTS} rehearsed requests, a window in which it compiled for less than
     * {@value #PLATEAU_COMPILE_MILLIS} ms ends the rehearsal. Measured on 2 cores, idle: C1 alone gets
     * there in about 4 s (6,000 requests), C2 in about 23 s (40,000 requests, when the throughput had
     * stopped rising). The window counts requests because the JIT compiles a method after so many calls,
     * not after so much time: on a busy host a second holds too few requests to call for a compile, and
     * one-second windows ended rehearsals after 14 requests (a chaos scenario's standby on a slower
     * machine, 2026-12-08), which then answered its first burst 4-9 times slower than rehearsed.
     */
    private static final Duration PLATEAU_WINDOW = Duration.ofSeconds(1);
    private static final int PLATEAU_REQUESTS = 2_000;
    /**
     * A rehearsal only uses CPU nobody else wants: while the other processes on this host keep more than
     * this share of its cores busy (a primary path beside it, a burst), it pauses, checked every
     * {@link #TICK}. On a slower machine, a standby rehearsing through a burst on its primary starved the
     * primary into a false "down" (chaos scenario 20, 2026-12-08).
     */
    private static final double HOST_BUSY_SHARE = 0.8;
    private static final Duration TICK = Duration.ofMillis(250);
    private static final Duration PAUSE_STEP = Duration.ofMillis(50);
    private static final long PLATEAU_COMPILE_MILLIS = 100;

    /** What a rehearsal did, and why it ended; {@code firstFailure} names the first request kind that failed, and how. */
    record Result(int requests, int failed, long millis, String ended, String firstFailure) {
    }

    private Rehearsal() {
    }

    /** Rehearses on a virtual thread (see {@link #run}); the process does not wait for it. */
    static void inBackground(RelayConfig real, RelayRole role, Duration bound, BooleanSupplier realTraffic) {
        if (bound.isPositive()) {
            Thread.ofVirtual().name("rehearsal").start(() -> run(real, role, bound, realTraffic));
        }
    }

    /**
     * Rehearses until the paths are compiled, {@code realTraffic} says real requests arrived, or
     * {@code bound} passed (zero: not at all). Never fails: a failed rehearsal only means a colder start.
     */
    static Result run(RelayConfig real, RelayRole role, Duration bound, BooleanSupplier realTraffic) {
        if (!bound.isPositive()) {
            return new Result(0, 0, 0, "off", "");
        }
        long start = System.nanoTime();
        Result result;
        try (ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0)
                .withTiming(Duration.ZERO, Duration.ZERO, 16));
             RelayServer relay = RelayServer.startSilent(config(real, URI.create(sim.baseUrl())), role)) {
            LOG.fine(() -> "rehearsing on a throwaway relay at 127.0.0.1:" + relay.port());
            result = drive(relay.port(), start, start + bound.toNanos(), realTraffic);
        } catch (IOException | RuntimeException e) {
            result = new Result(0, 0, (System.nanoTime() - start) / 1_000_000, "could not start",
                    e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        Result r = result;
        LOG.info(() -> "rehearsed " + r.requests() + " requests in " + r.millis() + " ms (" + r.ended()
                + "): its request paths are compiled before real requests need them"
                + (r.failed() > 0 ? "; " + r.failed() + " failed, the first: " + r.firstFailure() : ""));
        return r;
    }

    /**
     * The real relay's settings, in front of the simulator only: no etcd, no client keys, an ephemeral port.
     * Base URLs as users write them: OpenAI-style ones end in /v1, Anthropic's does not.
     */
    static RelayConfig config(RelayConfig real, URI sim) {
        URI simV1 = URI.create(sim + "/v1");
        Duration timeout = Duration.ofSeconds(5);
        Map<String, ProviderConfigs.Entry> providers = Map.of(
                "rehearsal-openai", new ProviderConfigs.Entry(new ProviderConfig("rehearsal-openai", ProviderKind.OPENAI, simV1,
                        Optional.empty(), timeout, timeout), Optional.empty()),
                "rehearsal-anthropic", new ProviderConfigs.Entry(new ProviderConfig("rehearsal-anthropic", ProviderKind.ANTHROPIC,
                        sim, Optional.empty(), timeout, timeout), Optional.empty()));
        List<Route> routes = List.of(
                new Route(new Glob("rehearse-anthropic"), List.of(new Route.Target("rehearsal-anthropic", Optional.empty()))),
                new Route(new Glob("*"), List.of(new Route.Target("rehearsal-openai", Optional.empty()))));
        Price price = new Price(BigDecimal.ONE, BigDecimal.TEN);
        PriceTable prices = new PriceTable(List.of(new PriceTable.Entry("rehearsal-openai", new Glob("*"), price),
                new PriceTable.Entry("rehearsal-anthropic", new Glob("*"), price)));
        return new RelayConfig("127.0.0.1", 0, real.role(), real.maxBodyBytes(), false, List.of(), providers, routes, prices,
                real.feePercent(), 100, "rehearsal", Optional.empty(), Optional.empty(), Duration.ZERO, real.failover(),
                Duration.ZERO, io.understudy.core.tracing.TracingSettings.OFF, 0);
    }

    private static Result drive(int port, long startNanos, long deadlineNanos, BooleanSupplier realTraffic) {
        WebClient client = WebClient.builder().baseUri("http://127.0.0.1:" + port)
                .socketOptions(o -> o.tcpNoDelay(true).connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(5)))
                .build();
        AtomicInteger requests = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger rounds = new AtomicInteger();
        AtomicReference<String> firstFailure = new AtomicReference<>("");
        AtomicReference<String> ended = new AtomicReference<>("");
        java.util.concurrent.atomic.AtomicBoolean hostBusy = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            clients.add(Thread.ofVirtual().name("rehearsal-" + c).start(() -> {
                while (ended.get().isEmpty()) {
                    if (hostBusy.get()) {
                        try {
                            Thread.sleep(PAUSE_STEP); // yielding the host to real work; re-checked every step
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                        continue;
                    }
                    int round = rounds.incrementAndGet();
                    for (Call call : Call.values()) {
                        String failure = call.send(client, round);
                        if (!failure.isEmpty() && failed.incrementAndGet() == 1) {
                            firstFailure.set(call + ": " + failure);
                        }
                        requests.incrementAndGet();
                    }
                }
            }));
        }
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean measurable = jit != null && jit.isCompilationTimeMonitoringSupported();
        long windowCompiled = measurable ? jit.getTotalCompilationTime() : 0;
        int windowRequests = 0;
        long windowStart = System.nanoTime();
        var os = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean bean ? bean : null;
        try {
            while (ended.get().isEmpty()) {
                long left = deadlineNanos - System.nanoTime();
                Thread.sleep(Duration.ofNanos(Math.max(1, Math.min(left, TICK.toNanos()))));
                hostBusy.set(os != null && os.getCpuLoad() - os.getProcessCpuLoad() > HOST_BUSY_SHARE);
                long compiled = measurable ? jit.getTotalCompilationTime() : 0;
                boolean windowFull = requests.get() - windowRequests >= PLATEAU_REQUESTS
                        && System.nanoTime() - windowStart >= PLATEAU_WINDOW.toNanos();
                if (realTraffic.getAsBoolean()) {
                    ended.set("real requests arrived");
                } else if (System.nanoTime() >= deadlineNanos) {
                    ended.set("at its bound");
                } else if (failed.get() >= 10) {
                    ended.set("too many failures");
                } else if (measurable && windowFull && compiled - windowCompiled < PLATEAU_COMPILE_MILLIS) {
                    ended.set("the JIT had nothing more to compile");
                }
                if (windowFull) {
                    windowCompiled = compiled;
                    windowRequests = requests.get();
                    windowStart = System.nanoTime();
                }
            }
        } catch (InterruptedException e) {
            ended.set("interrupted");
            Thread.currentThread().interrupt();
        }
        for (Thread t : clients) {
            try {
                t.join(Duration.ofSeconds(10)); // each finishes its round: every call is bounded by the read timeout
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return new Result(requests.get(), failed.get(), (System.nanoTime() - startNanos) / 1_000_000, ended.get(),
                firstFailure.get());
    }

    /** The request kinds rehearsed, each as a client sends it. */
    private enum Call {
        CHAT("/v1/chat/completions", "{\"model\":\"rehearse\",\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        CHAT_STREAM("/v1/chat/completions", "{\"model\":\"rehearse\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        MESSAGES("/v1/messages", "{\"model\":\"rehearse-anthropic\",\"max_tokens\":64,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        MESSAGES_STREAM("/v1/messages", "{\"model\":\"rehearse-anthropic\",\"max_tokens\":64,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        RESPONSES_STREAM("/v1/responses", "{\"model\":\"rehearse\",\"stream\":true,\"input\":\"rehearsal %d\"}"),
        EMBEDDINGS("/v1/embeddings", "{\"model\":\"rehearse\",\"input\":\"rehearsal %d\"}"),
        MODELS("/v1/models", null);

        private final String path;
        private final String body;

        Call(String path, String body) {
            this.path = path;
            this.body = body;
        }

        /** Sends it and reads the whole answer; empty when it was served, else what went wrong. */
        String send(WebClient client, int round) {
            try (HttpClientResponse response = body == null ? client.get(path).request()
                    : client.post(path).header(HeaderNames.CONTENT_TYPE, "application/json")
                    .header(HeaderNames.create("anthropic-version"), "2023-06-01")
                    .submit(String.format(body, round))) {
                byte[] answer = response.inputStream().readAllBytes();
                return response.status().code() == 200 ? ""
                        : "HTTP " + response.status().code() + " " + new String(answer, 0, Math.min(answer.length, 200),
                        java.nio.charset.StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                return e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        }
    }
}
