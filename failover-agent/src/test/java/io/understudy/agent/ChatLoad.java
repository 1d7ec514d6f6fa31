package io.understudy.agent;

import io.understudy.sim.ProviderSim;
import io.understudy.testkit.Await;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closed-loop chat traffic for tests that keep requests flowing through a change: {@code clients}
 * virtual threads, each calling as soon as its last call ended (at most 2,000 calls each), over
 * four prompts whose answers are known, streaming every call or every other one.
 */
final class ChatLoad implements AutoCloseable {
    private final ConcurrentLinkedQueue<ChatClient.Outcome> outcomes = new ConcurrentLinkedQueue<>();
    /** Every call by the order it was issued in, once it ended. */
    private final java.util.Map<Long, ChatClient.Outcome> bySequence = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong issued = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> clients = new ArrayList<>();

    ChatLoad(HttpClient http, ProviderSim sim, String base, String model, int clientCount, boolean streamsOnly) throws Exception {
        List<String> prompts = List.of("load prompt 0", "load prompt 1", "load prompt 2", "load prompt 3");
        List<String> expected = new ArrayList<>();
        for (String p : prompts) {
            expected.add(ChatClient.expectedText(http, sim, p));
        }
        for (int c = 0; c < clientCount; c++) {
            int client = c;
            clients.add(Thread.ofVirtual().start(() -> {
                for (int n = 0; running.get() && n < 2_000; n++) {
                    int i = (client + n) % prompts.size();
                    boolean stream = streamsOnly || (client + n) % 2 == 0;
                    long sequence = issued.getAndIncrement();
                    ChatClient.Outcome o = ChatClient.call(http, base, model, stream, prompts.get(i), expected.get(i));
                    bySequence.put(sequence, o);
                    outcomes.add(o);
                }
            }));
        }
    }

    /** Waits until {@code count} answers came from {@code provider}. */
    void awaitServedBy(String provider, int count) {
        Await.until(count + " answers from " + provider, Duration.ofSeconds(20),
                () -> outcomes.stream().filter(o -> o.provider().equals(provider)).count() >= count);
    }

    /** Every call made so far, as its client saw it. */
    List<ChatClient.Outcome> outcomes() {
        return new ArrayList<>(outcomes);
    }

    /**
     * The next {@code count} calls to be issued, once every one of them ended: a window of traffic
     * by when it was sent, so slow answers count as much as fast ones.
     */
    List<ChatClient.Outcome> next(int count) {
        long first = issued.get();
        Await.until("the next " + count + " calls end", Duration.ofSeconds(30), () -> {
            for (long s = first; s < first + count; s++) {
                if (!bySequence.containsKey(s)) {
                    return false;
                }
            }
            return true;
        });
        List<ChatClient.Outcome> window = new ArrayList<>();
        for (long s = first; s < first + count; s++) {
            window.add(bySequence.get(s));
        }
        return window;
    }

    void stop() throws InterruptedException {
        running.set(false);
        for (Thread t : clients) {
            t.join(Duration.ofSeconds(30));
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
