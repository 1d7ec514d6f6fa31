package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayServer;
import io.understudy.sim.AttemptLog;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent keeps a request's x-understudy-require on every path it owns: it tells the relays, uses
 * a relay's answer only when the relay confirms it enforced it, and tries only direct providers that
 * meet it. Each provider is asked for a model name of its own, so provider-sim's attempt log shows
 * exactly which providers a request reached.
 */
class AgentRequirementTest {
    private static final String EU = "region=eu";

    private ProviderSim sim;
    private RelayServer relay;
    private AgentServer agent;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeEach
    void start() throws Exception {
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4));
        relay = RelayServer.start(RelayConfig.from(AgentHarness.yaml("""
                server: { host: 127.0.0.1, port: 0 }
                providers:
                  - { name: eu, kind: openai, base-url: "%1$s/v1", tags: { region: eu } }
                  - { name: us, kind: openai, base-url: "%1$s/v1", tags: { region: us } }
                routes:
                  - model: "mixed"
                    targets: [ { provider: us, model: relay-us }, { provider: eu, model: relay-eu } ]
                  - model: "*"
                    targets: [ { provider: us, model: relay-us } ]
                """.formatted(sim.baseUrl())), Map.<String, String>of()::get), new io.understudy.primary.PrimaryRole());
        agent = agent("");
    }

    /** The agent, with {@code agentSection} (an {@code agent:} section, or nothing). */
    private AgentServer agent(String agentSection) {
        // a third-party relay stands in as provider-sim itself: it knows nothing of requirements
        return AgentServer.start(AgentConfig.from(AgentHarness.yaml("""
                server: { host: 127.0.0.1, port: 0 }
                %3$s
                tiers:
                  - name: primary
                    kind: relay
                    instances: [ { name: primary-1, base-url: "http://127.0.0.1:%2$d/v1" } ]
                  - name: thirdparty
                    kind: relay
                    instances: [ { name: thirdparty-1, base-url: "%1$s/v1" } ]
                  - name: direct
                    kind: direct
                providers:
                  - { name: direct-us, kind: openai, base-url: "%1$s/v1", tags: { region: us } }
                  - { name: direct-eu, kind: openai, base-url: "%1$s/v1", tags: { region: eu } }
                routes:
                  - model: "us-everywhere"
                    targets: [ { provider: direct-us, model: direct-us } ]
                  - model: "*"
                    targets: [ { provider: direct-us, model: direct-us }, { provider: direct-eu, model: direct-eu } ]
                """.formatted(sim.baseUrl(), relay.port(), agentSection)), Map.<String, String>of()::get));
    }

    @AfterEach
    void stop() {
        try {
            agent.close();
        } finally {
            try {
                relay.close();
            } finally {
                sim.close();
            }
        }
    }

    private HttpResponse<String> chat(String model, boolean stream, String... headers) throws Exception {
        return chat(agent, model, stream, headers);
    }

    private HttpResponse<String> chat(AgentServer to, String model, boolean stream, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"stream\":" + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The agent's receipt of a request, once filed (a stream's after its end). */
    private JsonNode receipt(String id) throws Exception {
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/receipts/" + id)).build();
        Await.until("the receipt of " + id + " is filed", Duration.ofSeconds(5),
                () -> send(get).statusCode() == 200);
        return Json.parse(send(get).body());
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private List<String> modelsAsked() {
        return sim.attempts().list().stream().map(AttemptLog.Attempt::model).toList();
    }

    @Test
    void theRelayIsToldTheRequirementAndServesFromACompliantProvider() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            sim.attempts().clear();
            HttpResponse<String> r = chat("mixed", stream, "x-understudy-require", EU);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("primary-1", r.headers().firstValue("x-understudy-upstream").orElseThrow());
            assertEquals(List.of("relay-eu"), modelsAsked(), "stream=" + stream);
            assertEquals(EU, receipt(r.headers().firstValue("x-request-id").orElseThrow()).path("requirement").asText());
        }
    }

    /**
     * The relay has no compliant provider for the model (its 422), and a relay that ignores the
     * header answers without confirming it: neither answer is used, and the compliant direct provider
     * serves. The non-compliant direct provider, first in the route, is never called, and the relay
     * that ignored the requirement is sent no request with one again.
     */
    @Test
    void aRefusingRelayAndAnIgnoringRelayAreSkippedForACompliantDirectProvider() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            sim.attempts().clear();
            HttpResponse<String> r = chat("other", stream, "x-understudy-require", EU);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("direct:direct-eu", r.headers().firstValue("x-understudy-upstream").orElseThrow());
            List<String> asked = modelsAsked();
            assertFalse(asked.contains("direct-us") || asked.contains("relay-us"), "stream=" + stream + ": " + asked);
            assertTrue(asked.contains("direct-eu"), asked.toString());
            // the ignoring relay got the first such request, and is sent none after it
            assertEquals(stream ? 0 : 1, asked.stream().filter("other"::equals).count(), "stream=" + stream + ": " + asked);
        }
        sim.attempts().clear();
        HttpResponse<String> free = chat("other", false);
        assertEquals("primary-1", free.headers().firstValue("x-understudy-upstream").orElseThrow(), "no requirement: the relay serves");
    }

    @Test
    void aPassThroughCallGoesOnlyWhereTheRequirementIsEnforced() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/v1/moderations"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json").header("x-understudy-require", EU)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"other\",\"input\":\"hi\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("direct-eu", r.headers().firstValue("x-understudy-upstream").orElseThrow(),
                "the relay has no eu provider for it and the third-party relay cannot confirm: the eu direct provider serves");
    }

    @Test
    void noUpstreamMeetingItIsA422NamingIt() throws Exception {
        sim.attempts().clear();
        HttpResponse<String> r = chat("us-everywhere", false, "x-understudy-require", EU);
        assertEquals(422, r.statusCode(), r.body());
        JsonNode error = Json.parse(r.body()).path("error");
        assertTrue(error.path("code").asText().startsWith("requirement_not_"), r.body());
        assertTrue(error.path("message").asText().contains(EU), r.body());
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("understudy_agent_requirement_refusals_total")
                && l.contains("reason=\"refused\"")), metrics);
        List<String> asked = modelsAsked();
        assertFalse(asked.contains("direct-us") || asked.contains("relay-us"), asked.toString());
    }

    /** An app whose config requires region=eu: its requests need no header to be kept to it. */
    @Test
    void theAppsConfiguredRequirementHoldsWithoutAHeader() throws Exception {
        try (AgentServer euApp = agent("agent: { require: \"region=eu\" }")) {
            sim.attempts().clear();
            HttpResponse<String> relayed = chat(euApp, "mixed", false);
            assertEquals(200, relayed.statusCode(), relayed.body());
            assertEquals(List.of("relay-eu"), modelsAsked(), "the relay was told the app's requirement");
            sim.attempts().clear();
            HttpResponse<String> direct = chat(euApp, "other", true);
            assertEquals(200, direct.statusCode(), direct.body());
            assertEquals("direct:direct-eu", direct.headers().firstValue("x-understudy-upstream").orElseThrow());
            assertFalse(modelsAsked().contains("direct-us") || modelsAsked().contains("relay-us"), modelsAsked().toString());
        }
    }

    @Test
    void aMalformedRequirementIsA400AndNothingIsSent() throws Exception {
        sim.attempts().clear();
        HttpResponse<String> r = chat("mixed", false, "x-understudy-require", "region=");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals(List.of(), modelsAsked());
    }
}
