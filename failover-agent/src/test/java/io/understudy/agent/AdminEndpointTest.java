package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /admin/avoid}, the operator's (and the drill's) way to take upstreams out of an agent's
 * rotation for a while: off without a token, refused without the right one, bounded, and undone by
 * a DELETE or by time.
 */
class AdminEndpointTest {
    private static final String TOKEN = "test-admin-token-0123456789";

    @Test
    void avoidingThePrimaryMovesNewRequestsToTheStandbyUntilLiftedOrExpired() throws Exception {
        try (AgentHarness h = new AgentHarness(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(5), 8), "",
                AgentHarness.Tuning.FUNCTIONAL, Map.of("UNDERSTUDY_ADMIN_TOKEN", TOKEN))) {
            h.awaitHealth("primary-1", "up");
            h.awaitHealth("standby-1", "up");
            assertEquals("primary-1", upstreamOf(h.post("/v1/chat/completions", chat("m", false, "before"))));

            assertEquals(401, admin(h, "POST", "{\"tiers\":[\"primary\"],\"seconds\":30}", null).statusCode(), "no token");
            assertEquals(401, admin(h, "POST", "{\"tiers\":[\"primary\"],\"seconds\":30}", "wrong").statusCode(), "wrong token");
            HttpResponse<String> zero = admin(h, "POST", "{\"tiers\":[\"primary\"],\"seconds\":0}", TOKEN);
            assertEquals(400, zero.statusCode());
            assertEquals("seconds", Json.parse(zero.body()).path("error").path("param").asText());
            assertEquals(400, admin(h, "POST", "{\"upstreams\":[\"nobody\"],\"seconds\":5}", TOKEN).statusCode(), "unknown upstream");
            assertEquals(400, admin(h, "POST", "{\"seconds\":5}", TOKEN).statusCode(), "nothing named");
            assertEquals(400, admin(h, "POST", "not json", TOKEN).statusCode());

            HttpResponse<String> avoided = admin(h, "POST", "{\"tiers\":[\"primary\"],\"seconds\":30,\"reason\":\"drill\"}", TOKEN);
            assertEquals(200, avoided.statusCode(), avoided.body());
            JsonNode list = Json.parse(avoided.body()).path("avoided");
            assertEquals(1, list.size());
            assertEquals("primary-1", list.get(0).path("upstream").asText());
            assertTrue(list.get(0).path("seconds_left").asLong() > 25, list.toString());
            assertEquals("standby-1", upstreamOf(h.post("/v1/chat/completions", chat("m", false, "during"))));
            assertEquals("up", h.upstream("primary-1").path("health").asText(), "avoided is not down: its probes go on");
            assertEquals("primary-1", h.status().path("avoided").get(0).path("upstream").asText());

            assertEquals(200, admin(h, "DELETE", null, TOKEN).statusCode());
            assertEquals("primary-1", upstreamOf(h.post("/v1/chat/completions", chat("m", false, "after"))));
            assertEquals(0, Json.parse(admin(h, "GET", null, TOKEN).body()).path("avoided").size());

            assertEquals(200, admin(h, "POST", "{\"relays\":true,\"seconds\":1}", TOKEN).statusCode());
            assertEquals("direct", h.post("/v1/chat/completions", chat("m", false, "relays avoided")).headers()
                    .firstValue("x-understudy-tier").orElse(""), "every relay avoided: the direct tier serves");
            Await.until("the avoidance ends by itself", Duration.ofSeconds(5),
                    () -> h.upstream("primary-1").path("health").asText().equals("up") && h.status().path("avoided").isEmpty());
            assertEquals("primary-1", upstreamOf(h.post("/v1/chat/completions", chat("m", false, "expired"))));
        }
    }

    @Test
    void withoutATokenConfiguredTheAdminEndpointIsOff() throws Exception {
        try (AgentHarness h = AgentHarness.standard()) {
            HttpResponse<String> r = admin(h, "POST", "{\"tiers\":[\"primary\"],\"seconds\":30}", "anything");
            assertEquals(403, r.statusCode());
            assertEquals("admin_disabled", Json.parse(r.body()).path("error").path("code").asText());
        }
    }

    private static HttpResponse<String> admin(AgentHarness h, String method, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(h.base() + "/admin/avoid")).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return h.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String upstreamOf(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return r.headers().firstValue("x-understudy-upstream").orElse("");
    }
}
