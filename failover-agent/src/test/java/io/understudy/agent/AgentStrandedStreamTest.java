package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A stream flowing from a relay that goes silent is resumed once probes mark the relay down, not at its idle timeout. */
class AgentStrandedStreamTest {

    /**
     * Regressions: a stream silent for less than a second when the probes' DOWN verdict came was left to its idle
     * timeout (30 s as shipped; the outside benchmark saw a stalled stream take 61 s). Then, at the verdict, a stream
     * stalled by the same fault still waited, polled every 100 ms, until it had been silent for a full second; with a
     * verdict about 1.2 s after the fault, the silent-primary scenario's worst stream came about 1.6 s late. The verdict
     * needs two probe timeouts of silence, so the stream has been silent for at least one: it is moved by the verdict.
     */
    @Test
    void aStreamThatFellSilentWithItsRelayIsResumedAtTheVerdictItself() throws Exception {
        // a 4 s stream; idle timeout 30 s, as shipped
        try (AgentHarness h = AgentHarness.withSlowStreams(AgentHarness.Tuning.FUNCTIONAL.withStreamIdle(Duration.ofSeconds(30)))) {
            h.reset();
            HttpResponse<InputStream> r = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat("m", true, "stranded"))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals("primary-1", r.headers().firstValue("x-understudy-upstream").orElse("none"));
            String body;
            long silentAt;
            try (InputStream in = r.body()) {
                in.readNBytes(1); // flowing to the client: committed
                // the primary goes silent mid-stream: probes (0.2 s apart, 0.3 s timeout) mark it down within about 0.6 s
                h.primaryProxy.mode(TcpProxy.Mode.BLACKHOLE);
                silentAt = System.nanoTime();
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } finally {
                h.primaryProxy.mode(TcpProxy.Mode.PASS);
            }
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - silentAt);
            assertTrue(body.endsWith("data: [DONE]\n\n"), "completed, resumed elsewhere: " + body.substring(Math.max(0, body.length() - 200)));
            assertTrue(tookMillis < 8_000, "the rest of a 4 s stream took " + tookMillis + " ms after the primary fell silent");
            String metrics = h.get("/metrics").body();
            assertTrue(metrics.contains("understudy_agent_moved_at_mark_down_total{how=\"resumed\",upstream=\"primary-1\"} 1.0"),
                    "resumed by the verdict, not by the stream's own later check: "
                            + metrics.lines().filter(l -> l.startsWith("understudy_agent_moved")).toList());
        }
    }

    /**
     * Regression: requests that arrived after a relay fell silent still went to it until a probe timed out (0.45 to
     * 0.6 s after the fault as shipped), and in the bench's blackhole about 150 of them piled up there and were
     * re-issued in one burst at the verdict: the standby took 1.2 to 2.4 s to drain it. Streams flowing from the relay
     * show the silence long before a probe can: when two of them fall quiet far past their own pace, with nothing at
     * all coming back from the relay, it is suspect and new requests go elsewhere at once. Here probes take 2 s to
     * time out, so only the streams can raise the suspicion within a second.
     */
    @Test
    void streamsFallingQuietTogetherSendNewRequestsElsewhereBeforeAnyProbeTimesOut() throws Exception {
        SimConfig tenMillisecondTokens = SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(10), 400);
        try (AgentHarness h = new AgentHarness(tenMillisecondTokens, "", AgentHarness.Tuning.FUNCTIONAL
                .withStreamIdle(Duration.ofSeconds(30)).withProbeTimeout(Duration.ofSeconds(2)))) {
            h.reset();
            List<InputStream> flowing = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    InputStream in = openStream(h, "quiet-" + i).body();
                    flowing.add(in);
                    in.readNBytes(2_000); // a dozen chunks or so: flowing, and its pace shown
                }
                h.primaryProxy.mode(TcpProxy.Mode.BLACKHOLE);
                long silentAt = System.nanoTime();
                Await.until("primary-1 suspect", Duration.ofSeconds(5), () -> !h.upstream("primary-1").path("health").asText().equals("up"));
                long suspectAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - silentAt);
                String reason = "";
                for (JsonNode e : h.status().path("recent_events")) {
                    if (e.path("from").asText().equals("primary-1") && e.path("to").asText().equals("suspect")) {
                        reason = e.path("reason").asText();
                    }
                }
                assertTrue(reason.contains("streams in flight fell quiet together"), "suspected for: " + reason);
                assertTrue(suspectAfterMillis < 1_500, "suspect " + suspectAfterMillis + " ms after the relay fell silent");
                HttpResponse<InputStream> next = openStream(h, "after-the-silence");
                try (InputStream in = next.body()) {
                    assertEquals("standby-1", next.headers().firstValue("x-understudy-upstream").orElse("none"),
                            "a new request goes elsewhere while the relay is suspect");
                }
            } finally {
                h.primaryProxy.mode(TcpProxy.Mode.PASS);
                for (InputStream in : flowing) {
                    in.close();
                }
            }
        }
    }

    private static HttpResponse<InputStream> openStream(AgentHarness h, String content) throws Exception {
        HttpResponse<InputStream> r = h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chat("m", true, content))).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        return r;
    }
}
