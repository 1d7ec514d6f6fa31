package io.understudy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.Answers;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate whether or not earlier ones
 * have answered, and its latency is measured from when it was due (coordinated-omission corrected),
 * so a stall shows up in the percentiles instead of silently slowing the sender. Every answer is
 * checked against provider-sim's deterministic text: a stream that started but did not deliver the
 * whole answer and [DONE] is truncated; any other wrong or missing answer is failed.
 */
final class OpenLoopLoad {
    static final int ANSWER_TOKENS = 16;
    private static final String MESSAGES = "[{\"role\":\"user\",\"content\":\"bench\"}]";
    private static final String EXPECTED = expected();

    /**
     * One run: which requests stream (every n-th, 0: none), each request's hard deadline from its due
     * time ({@code timeout}: not answered or not finished by then is failed or truncated), and the
     * fault and when (null: none).
     */
    record Spec(String url, Map<String, String> headers, int rate, Duration duration, int streamEvery, Duration timeout,
                Duration faultAfter, Runnable fault) {
        static Spec plain(String url, Map<String, String> headers, int rate, Duration duration) {
            return new Spec(url, headers, rate, duration, 0, Duration.ofSeconds(15), null, null);
        }
    }

    enum Outcome { OK, FAILED, TRUNCATED }

    /**
     * One request: when it was due (ms since the run started), its latency, and how it ended.
     * {@code sendLagMicros}: how late this client began to send it (its own scheduling, GC), so a
     * late answer can be told from a late question.
     */
    record Sample(long dueMillis, long latencyMicros, boolean stream, Outcome outcome, long sendLagMicros) {
    }

    /** What one run measured. Latencies in microseconds. */
    record Result(long sent, long ok, long failed, long truncated, Histogram latency, Histogram ttft, Histogram interChunk,
                  List<Sample> samples) {
    }

    private static String expected() {
        try {
            return String.join("", Answers.tokens(Json.parse(MESSAGES), ANSWER_TOKENS));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String body(boolean stream) {
        return "{\"model\":\"gpt-4o-mini\"," + (stream ? "\"stream\":true," : "") + "\"messages\":" + MESSAGES + "}";
    }

    private final HttpClient client;
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "load-watchdog");
        t.setDaemon(true);
        return t;
    });

    OpenLoopLoad() {
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    Result run(Spec spec) throws InterruptedException {
        Histogram latency = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(120), 3);
        Histogram ttft = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(120), 3);
        Histogram gaps = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(120), 3);
        Queue<Sample> samples = new ConcurrentLinkedQueue<>();
        long total = (long) spec.rate() * spec.duration().toSeconds();
        HttpRequest plain = request(spec, false);
        HttpRequest streamed = request(spec, true);
        long start = System.nanoTime();
        ScheduledFuture<?> fault = spec.fault() == null ? null
                : watchdog.schedule(spec.fault(), spec.faultAfter().toNanos(), TimeUnit.NANOSECONDS);
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            io.understudy.cli.Pacer.run(spec.rate(), total, () -> true, (i, due) -> {
                boolean stream = spec.streamEvery() > 0 && i % spec.streamEvery() == 0;
                senders.submit(() -> {
                    long sendLag = Math.max(0, (System.nanoTime() - due) / 1000);
                    Outcome outcome = Outcome.FAILED;
                    try {
                        long deadline = due + spec.timeout().toNanos();
                        outcome = stream ? streamed(streamed, due, deadline, ttft, gaps) : plain(plain, deadline);
                    } catch (Exception e) {
                        outcome = Outcome.FAILED;
                    } finally {
                        long micros = Math.max(0, (System.nanoTime() - due) / 1000);
                        latency.recordValue(Math.min(micros, latency.getHighestTrackableValue()));
                        samples.add(new Sample((due - start) / 1_000_000, micros, stream, outcome, sendLag));
                    }
                    return null;
                });
            });
        }
        if (fault != null) {
            try {
                fault.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("the fault failed: " + e.getCause().getMessage(), e.getCause());
            }
        }
        List<Sample> all = List.copyOf(samples);
        long ok = all.stream().filter(s -> s.outcome() == Outcome.OK).count();
        long truncated = all.stream().filter(s -> s.outcome() == Outcome.TRUNCATED).count();
        return new Result(total, ok, total - ok - truncated, truncated, latency, ttft, gaps, all);
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (java.io.IOException ignored) {
            // already broken
        }
    }

    private static HttpRequest request(Spec spec, boolean stream) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(spec.url() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer sk-bench")
                .POST(HttpRequest.BodyPublishers.ofString(body(stream)));
        spec.headers().forEach(b::header);
        return b.build();
    }

    /** The response by {@code deadline} (System.nanoTime()), else the exchange is cancelled and this throws. */
    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, long deadline) throws Exception {
        CompletableFuture<HttpResponse<T>> pending = client.sendAsync(request, handler);
        try {
            return pending.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw e;
        }
    }

    private Outcome plain(HttpRequest request, long deadline) throws Exception {
        HttpResponse<String> r = send(request, HttpResponse.BodyHandlers.ofString(), deadline);
        if (r.statusCode() != 200) {
            return Outcome.FAILED;
        }
        JsonNode answer = Json.parse(r.body());
        return EXPECTED.equals(answer.path("choices").path(0).path("message").path("content").asText(null))
                ? Outcome.OK : Outcome.FAILED;
    }

    private Outcome streamed(HttpRequest request, long due, long deadline, Histogram ttft, Histogram gaps) throws Exception {
        HttpResponse<InputStream> r = send(request, HttpResponse.BodyHandlers.ofInputStream(), deadline);
        if (r.statusCode() != 200) {
            r.body().close();
            return Outcome.FAILED;
        }
        // a stream still open at the deadline is cut by closing its body: the read below then fails
        ScheduledFuture<?> cut = watchdog.schedule(() -> closeQuietly(r.body()), Math.max(0, deadline - System.nanoTime()),
                TimeUnit.NANOSECONDS);
        StringBuilder text = new StringBuilder();
        boolean done = false;
        boolean inBandError = false;
        long last = -1;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.equals("data: [DONE]")) {
                    done = true;
                } else if (line.startsWith("data: {")) {
                    JsonNode chunk = Json.parse(line.substring(6));
                    inBandError |= chunk.has("error");
                    String content = chunk.path("choices").path(0).path("delta").path("content").asText("");
                    if (!content.isEmpty()) {
                        long now = System.nanoTime();
                        if (last < 0) {
                            ttft.recordValue(Math.max(0, (now - due) / 1000));
                        } else {
                            gaps.recordValue(Math.max(0, (now - last) / 1000));
                        }
                        last = now;
                        text.append(content);
                    }
                }
            }
        } catch (Exception broken) {
            return Outcome.TRUNCATED; // a 200 that broke off or hung: the client saw a partial answer
        } finally {
            cut.cancel(false);
        }
        if (done && EXPECTED.contentEquals(text)) {
            return Outcome.OK;
        }
        // an error event in the stream is a clean (if late) error; anything else short of the answer is truncated
        return inBandError ? Outcome.FAILED : Outcome.TRUNCATED;
    }
}
