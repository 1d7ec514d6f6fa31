package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;

/**
 * Every leadership claim the relays make, over the whole run: each relay's {@code /status} is read
 * straight from its own port (not through its Toxiproxy) every {@link #PERIOD}, recording when the
 * read was sent and answered, whether the relay claimed leadership and at which epoch. A frozen or
 * unreachable relay simply leaves a gap.
 * <p>
 * {@link #overlaps} is the split-brain check: from one relay's consecutive claims of the same epoch
 * it takes the span it certainly claimed (from the first claim's answer to the last claim's send),
 * and reports any two relays whose certain spans overlap by more than the tolerance.
 */
final class LeaderClaims implements AutoCloseable {
    static final Duration PERIOD = Duration.ofMillis(50);

    record Observation(String relay, long sentMs, long answeredMs, boolean claims, long epoch) {
    }

    /** A span a relay certainly claimed leadership of {@code epoch}. */
    record Span(String relay, long epoch, long fromMs, long toMs) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
    private final ConcurrentLinkedQueue<Observation> observed = new ConcurrentLinkedQueue<>();
    private final List<Thread> pollers = new ArrayList<>();
    private final LongSupplier clock;
    private volatile boolean running = true;

    /** Starts reading {@code relayPorts} (relay name to its own port). */
    LeaderClaims(Map<String, Integer> relayPorts, LongSupplier clock) {
        this.clock = clock;
        relayPorts.forEach((relay, port) -> pollers.add(Thread.ofVirtual().name("claims-" + relay)
                .start(() -> poll(relay, URI.create("http://127.0.0.1:" + port + "/status")))));
    }

    private void poll(String relay, URI uri) {
        while (running) {
            long sent = clock.getAsLong();
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(500)).build(),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode l = Json.parse(r.body()).path("leadership");
                observed.add(new Observation(relay, sent, clock.getAsLong(), l.path("claims_leadership").asBoolean(false),
                        l.path("epoch").asLong()));
            } catch (java.io.IOException | RuntimeException unreachable) {
                // frozen, killed or restarting: a gap, not a claim
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                Thread.sleep(PERIOD);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    List<Observation> observations() {
        return observed.stream().sorted(Comparator.comparingLong(Observation::sentMs)).toList();
    }

    /** The spans each relay certainly claimed (see the class comment). */
    static List<Span> spans(List<Observation> observations) {
        List<Span> spans = new ArrayList<>();
        Map<String, List<Observation>> byRelay = new java.util.TreeMap<>();
        observations.stream().sorted(Comparator.comparingLong(Observation::sentMs))
                .forEach(o -> byRelay.computeIfAbsent(o.relay(), k -> new ArrayList<>()).add(o));
        byRelay.forEach((relay, list) -> {
            Observation first = null;
            Observation last = null;
            for (Observation o : list) {
                if (o.claims() && first != null && o.epoch() == first.epoch()) {
                    last = o;
                    continue;
                }
                addSpan(spans, first, last);
                first = o.claims() ? o : null;
                last = first;
            }
            addSpan(spans, first, last);
        });
        return spans;
    }

    private static void addSpan(List<Span> spans, Observation first, Observation last) {
        if (first != null && first.answeredMs() < last.sentMs()) {
            spans.add(new Span(first.relay(), first.epoch(), first.answeredMs(), last.sentMs()));
        }
    }

    /** The first overlap of two relays' certain claims longer than {@code toleranceMs}, in words; empty if none. */
    static Optional<String> overlaps(List<Observation> observations, long toleranceMs) {
        List<Span> spans = spans(observations);
        for (int i = 0; i < spans.size(); i++) {
            for (int j = i + 1; j < spans.size(); j++) {
                Span a = spans.get(i);
                Span b = spans.get(j);
                long overlap = Math.min(a.toMs(), b.toMs()) - Math.max(a.fromMs(), b.fromMs());
                if (!a.relay().equals(b.relay()) && overlap > toleranceMs) {
                    return Optional.of(a.relay() + " claimed epoch " + a.epoch() + " from " + a.fromMs() + " to " + a.toMs()
                            + " ms while " + b.relay() + " claimed epoch " + b.epoch() + " from " + b.fromMs() + " to "
                            + b.toMs() + " ms (" + overlap + " ms together)");
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        running = false;
        pollers.forEach(Thread::interrupt);
        for (Thread t : pollers) {
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        http.shutdownNow();
    }
}
