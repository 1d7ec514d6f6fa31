package io.understudy.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The drill's synthetic load: {@code rate} small chat requests a second through the agent, every
 * other one streamed, each labelled {@code x-understudy-drill: <id>} so logs and receipts tell them
 * from real traffic. Each one is recorded: when it started, how long it took, which tier served it,
 * and whether the client got a whole answer.
 */
final class DrillLoad implements AutoCloseable {
    /** One request as the client saw it; {@code error} empty when it got a whole answer. */
    record Sample(long seq, long startMs, long latencyMs, boolean stream, int status, String tier, String upstream, String error) {
        boolean ok() {
            return error.isEmpty();
        }
    }

    /** At most this many requests in flight: a stalled agent must not make the drill pile up work. */
    private static final int MAX_IN_FLIGHT = 256;

    private final URI chat;
    private final String model;
    private final String drillId;
    private final Optional<String> apiKey;
    private final double rate;
    private final long originNanos;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread pacer;

    DrillLoad(URI agent, String model, String drillId, Optional<String> apiKey, double rate, long originNanos) {
        this.chat = agent.resolve("/v1/chat/completions");
        this.model = model;
        this.drillId = drillId;
        this.apiKey = apiKey;
        this.rate = rate;
        this.originNanos = originNanos;
        this.pacer = Thread.ofPlatform().name("drill-pacer").daemon().start(this::pace);
    }

    long nowMs() {
        return (System.nanoTime() - originNanos) / 1_000_000;
    }

    private void pace() {
        try {
            Pacer.run(rate, Long.MAX_VALUE, running::get, (n, due) -> {
                if (!inFlight.tryAcquire()) { // the agent is not answering: record it rather than queue more
                    samples.add(new Sample(n, nowMs(), 0, false, 0, "", "", "not sent: " + MAX_IN_FLIGHT + " requests already in flight"));
                    return;
                }
                Thread.ofVirtual().start(() -> {
                    try {
                        samples.add(send(n, n % 2 == 1));
                    } finally {
                        inFlight.release();
                    }
                });
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Sample send(long seq, boolean stream) {
        long start = nowMs();
        String body = "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"understudy drill " + drillId + " request " + seq + "\"}]}";
        HttpRequest.Builder request = HttpRequest.newBuilder(chat).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("x-understudy-drill", drillId)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        apiKey.ifPresent(k -> request.header("Authorization", "Bearer " + k));
        try {
            HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            String tier = r.headers().firstValue("x-understudy-tier").orElse("");
            String upstream = r.headers().firstValue("x-understudy-upstream").orElse("");
            String error = r.statusCode() != 200 ? "HTTP " + r.statusCode() + ": " + firstLine(r.body())
                    : stream && !wholeStream(r.body()) ? "stream ended without [DONE] or with an error event" : "";
            return new Sample(seq, start, nowMs() - start, stream, r.statusCode(), tier, upstream, error);
        } catch (IOException e) {
            return new Sample(seq, start, nowMs() - start, stream, 0, "", "", "no answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Sample(seq, start, nowMs() - start, stream, 0, "", "", "interrupted");
        }
    }

    private static boolean wholeStream(String body) {
        return body.contains("data: [DONE]") && !body.contains("\"error\"");
    }

    private static String firstLine(String body) {
        String line = body.lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }

    /** Stops sending, waits up to {@code drain} for the requests in flight, and returns every sample in order. */
    List<Sample> stop(Duration drain) throws InterruptedException {
        running.set(false);
        pacer.join(2_000);
        if (inFlight.tryAcquire(MAX_IN_FLIGHT, drain.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            inFlight.release(MAX_IN_FLIGHT);
        }
        List<Sample> all = new ArrayList<>(samples);
        all.sort(Comparator.comparingLong(Sample::seq));
        return all;
    }

    @Override
    public void close() {
        running.set(false);
        pacer.interrupt();
    }
}
