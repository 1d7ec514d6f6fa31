package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.chaos.RequestRecord.Outcome;
import io.understudy.core.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends a steady open-loop mix of streaming and non-streaming chat requests through the agent and
 * records every one of them. Each request gets its own model name ({@code chaos-<seq>}) so the
 * provider calls it caused can be counted in provider-sim's attempt log afterwards. Requests run on
 * virtual threads; a watchdog ends any that outlive the bound and records them as hung.
 */
final class LoadDriver implements AutoCloseable {
    private final String agentBase;
    private final Map<String, String> expected;
    private final List<String> prompts;
    private final int ratePerSecond;
    /** How long a client waits for the agent to accept a connection. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final Duration bound;
    private final HttpClient http;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentLinkedQueue<RequestRecord> done = new ConcurrentLinkedQueue<>();
    private final Map<Long, InputStream> openStreams = new ConcurrentHashMap<>();
    private final Map<Long, Long> startedAt = new ConcurrentHashMap<>();
    private final Set<Long> hung = ConcurrentHashMap.newKeySet();
    private final AtomicLong seq = new AtomicLong();
    private final long t0 = System.nanoTime();
    private final String modelPrefix;
    /** Sent with every request (e.g. a scenario's x-understudy-require). */
    private final Map<String, String> headers;
    private volatile boolean running;
    private Thread pacer;
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon(true).name("load-watchdog").unstarted(r));

    /**
     * @param expected prompt -> the deterministic answer provider-sim gives it
     * @param bound    a request not ended after this long is hung
     */
    LoadDriver(String agentBase, Map<String, String> expected, int ratePerSecond, Duration bound, String modelPrefix,
               Map<String, String> headers) {
        this.headers = Map.copyOf(headers);
        this.agentBase = agentBase;
        this.expected = expected;
        this.prompts = List.copyOf(expected.keySet());
        this.ratePerSecond = ratePerSecond;
        this.bound = bound;
        this.modelPrefix = modelPrefix;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        watchdog.scheduleAtFixedRate(this::endOverdueStreams, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Milliseconds since this driver was created: the time axis of every record. */
    long now() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    synchronized void start() {
        running = true;
        pacer = Thread.ofPlatform().daemon(true).name("load-pacer").start(this::pace);
    }

    /** Open loop: request n is due at n / rate, whatever happened to the earlier ones. */
    private void pace() {
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / ratePerSecond;
        long begin = System.nanoTime();
        for (long n = 0; running; n++) {
            long due = begin + n * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (!running) {
                return;
            }
            long id = seq.incrementAndGet();
            requests.submit(() -> done.add(send(id)));
        }
    }

    /** Sends {@code n} requests at once, beside any paced load: a burst. */
    void burst(int n) {
        for (int i = 0; i < n; i++) {
            long id = seq.incrementAndGet();
            requests.submit(() -> done.add(send(id)));
        }
    }

    /** Ends streams past the bound; a non-streamed request has the same bound as its HTTP timeout. */
    private void endOverdueStreams() {
        long limit = now() - bound.toMillis();
        startedAt.forEach((id, start) -> {
            if (start < limit) {
                InputStream in = openStreams.remove(id);
                if (in != null) {
                    hung.add(id);
                    try {
                        in.close();
                    } catch (IOException ignored) {
                        // closing is all we want
                    }
                }
            }
        });
    }

    private RequestRecord send(long id) {
        boolean stream = id % 2 == 0;
        String prompt = prompts.get((int) (id % prompts.size()));
        String want = expected.get(prompt);
        String model = modelPrefix + id;
        long start = now();
        startedAt.put(id, start);
        try {
            String body = Json.text(Json.object().put("model", model).put("stream", stream)
                    .set("messages", Json.array().add(Json.object().put("role", "user").put("content", prompt))));
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(agentBase + "/v1/chat/completions"))
                    .timeout(bound).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            headers.forEach(builder::header);
            HttpRequest request = builder.build();
            return stream ? streamed(id, model, request, want, start) : plain(id, model, request, want, start);
        } catch (java.net.http.HttpConnectTimeoutException e) {
            return record(id, model, stream, start, -1, -1, null, Outcome.BROKEN,
                    "could not connect to the agent within " + CONNECT_TIMEOUT.toSeconds() + " s");
        } catch (HttpTimeoutException e) {
            return record(id, model, stream, start, -1, -1, null, Outcome.HUNG, "no answer within " + bound.toSeconds() + " s");
        } catch (IOException e) {
            Outcome outcome = hung.contains(id) ? Outcome.HUNG : Outcome.BROKEN;
            return record(id, model, stream, start, -1, -1, null, outcome, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return record(id, model, stream, start, -1, -1, null, Outcome.BROKEN, "interrupted");
        } finally {
            startedAt.remove(id);
            openStreams.remove(id);
        }
    }

    private RequestRecord plain(long id, String model, HttpRequest request, String want, long start)
            throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        long ttft = now() - start;
        if (r.statusCode() != 200) {
            return record(id, model, false, start, ttft, r.statusCode(), r, cleanErrorBody(r.body()), errorText(r.body()));
        }
        String text = Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText("");
        return text.equals(want)
                ? record(id, model, false, start, ttft, 200, r, Outcome.COMPLETE, "")
                : record(id, model, false, start, ttft, 200, r, Outcome.TRUNCATED, "got " + text.length() + " of " + want.length() + " chars");
    }

    private RequestRecord streamed(long id, String model, HttpRequest request, String want, long start)
            throws IOException, InterruptedException {
        HttpResponse<InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            String body = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
            return record(id, model, true, start, now() - start, r.statusCode(), r, cleanErrorBody(body), errorText(body));
        }
        openStreams.put(id, r.body());
        StringBuilder text = new StringBuilder();
        long ttft = -1;
        boolean doneSeen = false;
        String error = null;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.startsWith("data:")) {
                    continue;
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    doneSeen = true;
                    continue;
                }
                JsonNode chunk = Json.parse(data);
                if (chunk.has("error")) {
                    error = chunk.path("error").path("message").asText("error event");
                    continue;
                }
                String delta = chunk.path("choices").path(0).path("delta").path("content").asText("");
                if (!delta.isEmpty() && ttft < 0) {
                    ttft = now() - start;
                }
                text.append(delta);
            }
        } catch (IOException e) {
            if (hung.contains(id)) {
                return record(id, model, true, start, ttft, 200, r, Outcome.HUNG, "stream open after " + bound.toSeconds() + " s");
            }
            return record(id, model, true, start, ttft, 200, r, Outcome.TRUNCATED, "stream broke without an error event: " + e);
        }
        String got = text.toString();
        if (doneSeen && error == null && got.equals(want)) {
            return record(id, model, true, start, ttft, 200, r, Outcome.COMPLETE, "");
        }
        if (error != null && !doneSeen && want.startsWith(got)) {
            return record(id, model, true, start, ttft, 200, r, Outcome.CLEAN_ERROR, "error event after " + got.length() + " chars: " + error);
        }
        return record(id, model, true, start, ttft, 200, r, Outcome.TRUNCATED,
                "done=" + doneSeen + " error=" + error + " got " + got.length() + " of " + want.length() + " chars");
    }

    private static Outcome cleanErrorBody(String body) {
        try {
            return Json.parse(body).path("error").path("message").isTextual() ? Outcome.CLEAN_ERROR : Outcome.BROKEN;
        } catch (IOException | RuntimeException e) {
            return Outcome.BROKEN;
        }
    }

    private static String errorText(String body) {
        try {
            return Json.parse(body).path("error").path("message").asText("");
        } catch (IOException | RuntimeException e) {
            return body.length() > 200 ? body.substring(0, 200) : body;
        }
    }

    private RequestRecord record(long id, String model, boolean stream, long start, long ttft, int status,
                                 HttpResponse<?> r, Outcome outcome, String detail) {
        String tier = r == null ? "-" : r.headers().firstValue("x-understudy-tier").orElse("-");
        String upstream = r == null ? "-" : r.headers().firstValue("x-understudy-upstream").orElse("-");
        long epoch = r == null ? 0 : r.headers().firstValue("x-understudy-epoch").map(Long::parseLong).orElse(0L);
        return new RequestRecord(id, model, stream, start, now(), ttft, status, tier, upstream, epoch, outcome, detail, 0);
    }

    /** Records finished so far, oldest start first. */
    List<RequestRecord> finished() {
        List<RequestRecord> list = new ArrayList<>(done);
        list.sort(Comparator.comparingLong(RequestRecord::startMs));
        return list;
    }

    /** Stops sending and waits for every request in flight to end (they are bounded by the watchdog). */
    List<RequestRecord> stop() {
        running = false;
        if (pacer != null) {
            pacer.interrupt();
        }
        requests.shutdown();
        try {
            if (!requests.awaitTermination(bound.toMillis() + 10_000, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("requests still running " + (bound.toSeconds() + 10) + " s after the load stopped");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        watchdog.shutdownNow();
        return finished();
    }

    /** Attaches to each record the number of provider calls it caused, from provider-sim's attempt log. */
    static List<RequestRecord> withAttempts(List<RequestRecord> records, JsonNode attemptLog) {
        Map<String, Integer> perModel = new HashMap<>();
        for (JsonNode a : attemptLog.path("attempts")) {
            perModel.merge(a.path("model").asText(), 1, Integer::sum);
        }
        return records.stream().map(r -> r.withAttempts(perModel.getOrDefault(r.model(), 0))).toList();
    }

    @Override
    public void close() {
        if (running) {
            stop();
        }
        requests.shutdownNow();
        watchdog.shutdownNow();
        http.close();
    }
}
