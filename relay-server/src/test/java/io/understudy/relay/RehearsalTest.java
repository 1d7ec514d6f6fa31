package io.understudy.relay;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rehearsal a relay process runs after it starts: every kind it rehearses is served, and it yields to real traffic. */
class RehearsalTest {
    private final RelayConfig shipped = RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get);

    @Test
    void everyRehearsedRequestKindIsServedByTheRelaysOwnCodeAgainstTheSimulator() {
        Rehearsal.Result r = Rehearsal.run(shipped, TestRole.PRIMARY_LIKE, Duration.ofSeconds(3), () -> false);
        // one round is one request of each kind (chat, streamed chat, Messages, streamed Messages, embeddings, models)
        assertTrue(r.requests() >= 6, "at least one round: " + r);
        assertEquals(0, r.failed(), "a kind that fails is a path the rehearsal does not warm: " + r);
        assertTrue(List.of("at its bound", "the JIT had nothing more to compile").contains(r.ended()), r.toString());
    }

    @Test
    void itStopsWhenRealRequestsArrive() {
        Rehearsal.Result r = Rehearsal.run(shipped, TestRole.PRIMARY_LIKE, Duration.ofSeconds(30), () -> true);
        assertEquals("real requests arrived", r.ended(), r.toString());
    }

    /** What stops a real relay's rehearsal: its first client request, not a probe. */
    @Test
    void aRelayKnowsWhenItsFirstClientRequestArrivedAndAProbeIsNotOne() throws Exception {
        try (io.understudy.sim.ProviderSim sim = io.understudy.sim.ProviderSim.start(io.understudy.sim.SimConfig.defaults().withPort(0));
             RelayServer relay = RelayServer.start(Rehearsal.config(shipped, java.net.URI.create(sim.baseUrl())), TestRole.PRIMARY_LIKE)) {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + relay.port();
            assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/health/ready")).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode());
            assertEquals(false, relay.servedAny(), "a probe is not a client request");
            assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/v1/models")).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode());
            assertTrue(relay.servedAny());
        }
    }

    @Test
    void aZeroBoundRehearsesNothing() {
        assertEquals(new Rehearsal.Result(0, 0, 0, "off", ""), Rehearsal.run(shipped, TestRole.PRIMARY_LIKE, Duration.ZERO, () -> false));
    }
}
