package io.understudy.agent;

import io.understudy.testkit.Await;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Traffic returns to the primary as soon as probes see it healthy, not when its circuit's open period ends. */
class AgentFailbackTest {

    /** Regression: back on the primary only when the breaker's fixed open period (PT5S) ran out. */
    @Test
    void probesSeeingThePrimaryAgainMakeTheNextCallATrial() throws Exception {
        try (AgentHarness h = AgentHarness.withSlowStreams(AgentHarness.Tuning.FUNCTIONAL.withOpenFor(Duration.ofSeconds(60)))) {
            h.reset();
            List<CompletableFuture<HttpResponse<java.io.InputStream>>> streams = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                streams.add(h.http.sendAsync(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(chat("m", true, "cut " + i))).build(),
                        HttpResponse.BodyHandlers.ofInputStream()));
            }
            // headers reach the client with the first chunk: all five are committed to the primary now
            for (var stream : streams) {
                assertEquals("primary-1", stream.get(10, java.util.concurrent.TimeUnit.SECONDS).headers()
                        .firstValue("x-understudy-upstream").orElse("none"));
            }
            h.primaryProxy.mode(TcpProxy.Mode.REFUSE); // resets all five: the primary's circuit opens, probes fail
            Await.until("the primary's circuit open", Duration.ofSeconds(5),
                    () -> h.upstream("primary-1").path("circuit").asText().equals("open"));
            h.awaitHealth("primary-1", "down");
            for (var stream : streams) {
                try (java.io.InputStream body = stream.join().body()) {
                    body.readAllBytes(); // resumed elsewhere, to the end
                }
            }
            h.primaryProxy.mode(TcpProxy.Mode.PASS);
            h.awaitHealth("primary-1", "up");
            // within a call or two of the probes' verdict, long before the 60 s open period ends
            Await.until("a stream served by the primary again", Duration.ofSeconds(3),
                    () -> servedBy(h, "back").equals("primary-1"));
        }
    }

    /** Which upstream serves a stream: its headers come with the first chunk; the rest is not waited for. */
    private static String servedBy(AgentHarness h, String content) {
        try {
            HttpResponse<java.io.InputStream> r = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat("m", true, content))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            r.body().close();
            return r.statusCode() == 200 ? r.headers().firstValue("x-understudy-upstream").orElse("none") : "error";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
