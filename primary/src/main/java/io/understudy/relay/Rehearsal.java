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
import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Before a relay process serves, it rehearses its own request paths: a throwaway relay with the
 * same code, on a loopback port, in front of an in-process provider-sim, gets chat (plain and
 * streamed), Messages, embeddings and model-list requests for a bounded time. The JVM compiles
 * those paths then, so the first real requests, which for a standby arrive all at once when the
 * primary dies, run compiled code instead of the interpreter. Nothing of it is kept: no port,
 * metrics, receipts or log lines of the real relay, and no provider is called.
 */
final class Rehearsal {
    private static final Logger LOG = Logger.getLogger(Rehearsal.class.getName());
    /** Requests in flight at once: enough to exercise the concurrent paths, few enough for two cores. */
    private static final int CLIENTS = 4;
    /** Rounds (one request of each kind) at most; the time bound usually ends it first on a small machine. */
    private static final int MAX_ROUNDS = 2_000;

    /** What a rehearsal did; {@code firstFailure} names the first request kind that failed, and how. */
    record Result(int requests, int failed, long millis, String firstFailure) {
    }

    private Rehearsal() {
    }

    /** Rehearses for at most {@code budget} (zero: not at all). Never fails: a failed rehearsal only means a colder start. */
    static Result run(RelayConfig real, Duration budget) {
        if (budget.isZero() || budget.isNegative()) {
            return new Result(0, 0, 0, "");
        }
        long start = System.nanoTime();
        // the throwaway relay's start-up lines (its port, "no client keys") and request lines are not the relay's
        Map<Logger, Level> muted = new java.util.LinkedHashMap<>();
        for (String name : List.of(RelayServer.class.getName(), Completions.class.getName(), "io.helidon")) {
            Logger logger = Logger.getLogger(name);
            muted.put(logger, logger.getLevel());
            logger.setLevel(Level.SEVERE);
        }
        Result result;
        try (ProviderSim sim = ProviderSim.start(SimConfig.defaults().withPort(0)
                .withTiming(Duration.ZERO, Duration.ZERO, 16));
             RelayServer relay = RelayServer.start(config(real, URI.create(sim.baseUrl())))) {
            result = drive(relay.port(), start + budget.toNanos());
        } catch (IOException | RuntimeException e) {
            result = new Result(0, 0, (System.nanoTime() - start) / 1_000_000, e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            muted.forEach(Logger::setLevel);
        }
        Result r = result;
        LOG.info(() -> "rehearsed " + r.requests() + " requests in " + r.millis()
                + " ms before serving (the JIT compiles the request paths now, not on the first real requests)"
                + (r.failed() > 0 || r.requests() == 0 ? "; failed: " + r.failed() + ", first: " + r.firstFailure() : ""));
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
                Duration.ZERO);
    }

    private static Result drive(int port, long deadlineNanos) {
        WebClient client = WebClient.builder().baseUri("http://127.0.0.1:" + port)
                .socketOptions(o -> o.tcpNoDelay(true).connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(5)))
                .build();
        AtomicInteger requests = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger rounds = new AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> firstFailure = new java.util.concurrent.atomic.AtomicReference<>("");
        long start = System.nanoTime();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            clients.add(Thread.ofVirtual().name("rehearsal-" + c).start(() -> {
                while (System.nanoTime() < deadlineNanos && rounds.getAndIncrement() < MAX_ROUNDS && failed.get() < 10) {
                    int round = rounds.get();
                    for (Call call : Call.values()) {
                        String failure = call.send(client, round);
                        if (!failure.isEmpty()) {
                            failed.incrementAndGet();
                            firstFailure.compareAndSet("", call + ": " + failure);
                        }
                        requests.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : clients) {
            try {
                t.join(Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime()) + Duration.ofSeconds(5).toNanos()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return new Result(requests.get(), failed.get(), (System.nanoTime() - start) / 1_000_000, firstFailure.get());
    }

    /** The request kinds rehearsed, each as a client sends it. */
    private enum Call {
        CHAT("/v1/chat/completions", "{\"model\":\"rehearse\",\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        CHAT_STREAM("/v1/chat/completions", "{\"model\":\"rehearse\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        MESSAGES("/v1/messages", "{\"model\":\"rehearse-anthropic\",\"max_tokens\":64,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
        MESSAGES_STREAM("/v1/messages", "{\"model\":\"rehearse-anthropic\",\"max_tokens\":64,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"rehearsal %d\"}]}"),
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
