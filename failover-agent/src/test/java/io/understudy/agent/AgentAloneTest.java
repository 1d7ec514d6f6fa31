package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.TcpProxy;
import io.understudy.testkit.Topologies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An agent alone in front of one provider with a fallback model configured, on the shipped defaults:
 * the outside fault-injection benchmark's setting. Errors that belong to one model stay with it.
 */
class AgentAloneTest {
    private static ProviderSim sim;
    private static AgentServer agent;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(2), 4));
        agent = AgentServer.start(AgentConfig.from(AgentHarness.yaml(Topologies.agentAlone(sim.baseUrl(), java.util.Optional.empty(), "", """
                  - model: "sim-429"
                    fallbacks: [ "backup" ]
                  - model: "sim-503"
                    fallbacks: [ "backup" ]
                """)), Map.<String, String>of()::get));
    }

    @AfterAll
    static void stop() {
        agent.close();
        sim.close();
    }

    @BeforeEach
    void clear() {
        sim.attempts().clear();
    }

    private static HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode directSim() throws Exception {
        JsonNode status = Json.parse(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/status"))
                .GET().build(), HttpResponse.BodyHandlers.ofString()).body());
        return status.path("tiers").path(0).path("upstreams").path(0);
    }

    /** Regression: a 429 cooled the whole provider, so 6 attempts went to the limited model and none to the fallback. */
    @Test
    void aPersistent429WithoutRetryAfterReachesTheFallbackModelOnTheSameProviderWithin2Attempts() throws Exception {
        HttpResponse<String> r = post(chat("sim-429", false, "limited"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("backup", r.headers().firstValue("x-understudy-model").orElseThrow());
        assertEquals("2", r.headers().firstValue("x-understudy-attempts").orElseThrow());
        JsonNode attempts = sim.attempts().toJson().path("attempts");
        assertEquals("sim-429", attempts.get(0).path("model").asText());
        assertEquals("backup", attempts.get(1).path("model").asText());
    }

    /** Regression: with no relay, /v1/models listed only the direct tier's literal routes: nothing, on a "*" route. */
    @Test
    void theModelListOfTheDirectTierHoldsWhatItsProviderServes() throws Exception {
        JsonNode models = Json.parse(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/models"))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
        assertTrue(models.path("data").toString().contains("\"sim-large\""), models.toString());
        assertEquals(0, sim.attempts().toJson().path("attempts").size(), "listing models is no model call");
    }

    /** Regression, outside benchmark "500 once, then healthy", agent alone: the provider is retried in place. */
    @Test
    void aProvidersFiveHundredOnceIsRetriedInPlaceAfterAShortPause() throws Exception {
        HttpResponse<String> r = post(chat("sim-500-once", false, "once, alone"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("sim-500-once", r.headers().firstValue("x-understudy-model").orElseThrow(), "the model asked for");
        assertEquals("2", r.headers().firstValue("x-understudy-attempts").orElseThrow());
        JsonNode attempts = sim.attempts().toJson().path("attempts");
        long pause = attempts.get(1).path("time_ms").asLong() - attempts.get(0).path("time_ms").asLong();
        assertTrue(pause >= 50, "a jittered pause of at least half the 100 ms backoff: " + pause + " ms");
    }

    /**
     * Regression, "primary flaps": while one model answered 503, the provider's one circuit opened and
     * 3 of 15 requests got "502 ... direct:wall circuit open" although the fallback model was healthy.
     */
    @Test
    void oneModelsFiveHundredsNeverShutTheProviderForItsFallbackModel() throws Exception {
        for (int i = 0; i < 15; i++) {
            HttpResponse<String> r = post(chat("sim-503", false, "flap " + i));
            assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
            assertEquals("backup", r.headers().firstValue("x-understudy-model").orElseThrow());
        }
        JsonNode u = directSim();
        assertEquals("closed", u.path("circuit").asText(), "the provider answers: its circuit stays closed");
        assertTrue(u.path("model_circuit_open_for_ms").has("sim-503"), "the failing model's own circuit opened: " + u);
        long calls = 0;
        for (JsonNode a : sim.attempts().toJson().path("attempts")) {
            calls += a.path("model").asText().equals("sim-503") ? 1 : 0;
        }
        assertTrue(calls <= 4, "once open, the failing model is not called: " + calls + " calls");
    }

    /**
     * Regression, bin/bench: the agent alone in front of a blackholed provider lost 1,374 of 3,600 requests.
     * The direct tier had no probes, so requests waited for the provider's read timeout (120 s as shipped).
     */
    @Test
    void aSilentProviderIsFoundByItsProbesAndItsRequestsMoveToTheNextProvider() throws Exception {
        try (TcpProxy link = new TcpProxy(sim.port());
             AgentServer alone = AgentServer.start(AgentConfig.from(AgentHarness.yaml(Topologies.agentAlone(
                     "http://127.0.0.1:" + link.port(), java.util.Optional.of(sim.baseUrl()), "", "  []")), Map.<String, String>of()::get))) {
            String base = "http://127.0.0.1:" + alone.port();
            io.understudy.testkit.Await.until("the first provider probed up", Duration.ofSeconds(10),
                    () -> health(base, "direct:sim").equals("up"));
            HttpResponse<String> before = post(base, chat("m", false, "before"));
            assertEquals("sim", before.headers().firstValue("x-understudy-provider").orElseThrow());
            link.mode(TcpProxy.Mode.BLACKHOLE);
            long start = System.nanoTime();
            java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> inFlight = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String body = chat("m", i % 2 == 0, "silent " + i);
                inFlight.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return post(base, body);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (var f : inFlight) {
                HttpResponse<String> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                assertEquals("backup", r.headers().firstValue("x-understudy-provider").orElseThrow());
            }
            long tookMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(tookMillis < 5_000, "every request answered by the backup provider, the last after " + tookMillis + " ms");
            assertEquals("down", health(base, "direct:sim"));
        }
    }

    private static HttpResponse<String> post(String base, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String health(String base, String upstream) {
        try {
            JsonNode status = Json.parse(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/status")).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            for (JsonNode u : status.path("tiers").path(0).path("upstreams")) {
                if (u.path("name").asText().equals(upstream)) {
                    return u.path("health").asText();
                }
            }
            throw new IllegalArgumentException("no upstream " + upstream + " in " + status);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
