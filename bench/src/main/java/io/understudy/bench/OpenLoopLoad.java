package io.understudy.bench;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate whether or not earlier ones
 * have answered, and its latency is measured from when it was due (coordinated-omission corrected),
 * so a stall shows up in the percentiles instead of silently slowing the sender.
 */
final class OpenLoopLoad {
    /** What one run measured. Latencies in microseconds. */
    record Result(String name, int rate, long sent, long ok, long failed, Histogram latency, Histogram ttft,
                  Histogram interChunk, double seconds, java.util.List<Sample> samples) {
        double achievedRate() {
            return ok / seconds;
        }
    }

    /** One request: when it was due (ms since the run started), its latency, and whether it succeeded. */
    record Sample(long dueMillis, long latencyMicros, boolean ok) {
    }

    private final HttpClient client;

    OpenLoopLoad() {
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** Runs {@code duration} at {@code rate}; {@code during} runs once, {@code faultAfter} into the run (null: none). */
    Result run(String name, String url, String body, boolean stream, int rate, Duration duration) throws InterruptedException {
        return run(name, url, body, stream, rate, duration, null, null);
    }

    Result run(String name, String url, String body, boolean stream, int rate, Duration duration, Duration faultAfter,
               Runnable fault) throws InterruptedException {
        Histogram latency = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(60), 3);
        Histogram ttft = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(60), 3);
        Histogram gaps = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(60), 3);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        java.util.Queue<Sample> samples = new java.util.concurrent.ConcurrentLinkedQueue<>();
        long total = (long) rate * duration.toSeconds();
        long intervalNanos = 1_000_000_000L / rate;
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        if (fault != null) {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(faultAfter);
                    fault.run();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long i = 0; i < total; i++) {
                long due = start + i * intervalNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                senders.submit(() -> {
                    boolean success = false;
                    try {
                        if (stream) {
                            HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
                            long first = -1;
                            long last = -1;
                            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                                    if (line.startsWith("data: {") && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
                                        long now = System.nanoTime();
                                        if (first < 0) {
                                            first = now;
                                            ttft.recordValue(Math.max(0, (now - due) / 1000));
                                        } else {
                                            gaps.recordValue(Math.max(0, (now - last) / 1000));
                                        }
                                        last = now;
                                    }
                                }
                            }
                            if (r.statusCode() == 200 && first > 0) {
                                success = true;
                                ok.incrementAndGet();
                            } else {
                                failed.incrementAndGet();
                            }
                        } else {
                            HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                            if (r.statusCode() == 200) {
                                success = true;
                                ok.incrementAndGet();
                            } else {
                                failed.incrementAndGet();
                            }
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    } finally {
                        long micros = Math.max(0, (System.nanoTime() - due) / 1000);
                        latency.recordValue(micros);
                        samples.add(new Sample((due - start) / 1_000_000, micros, success));
                    }
                    return null;
                });
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Result(name, rate, total, ok.get(), failed.get(), latency, ttft, gaps, seconds, java.util.List.copyOf(samples));
    }
}
