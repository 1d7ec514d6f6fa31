package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.sim.FaultMode;
import io.understudy.testkit.Await;
import io.understudy.testkit.HeadlessChromium;
import io.understudy.testkit.TcpProxy;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent's {@code /} page in a real headless Chromium: it renders a row per upstream with the
 * state /status gives, rate limits read as words rather than JSON, and the open page follows a
 * relay going down by itself. Screenshots land in {@code target/status-page/}.
 */
class StatusPageBrowserTest {
    private static final Path SHOTS = Path.of("target", "status-page");
    /** Each row of the tier table, as the browser rendered it. */
    private static final String ROWS = """
            [...document.querySelectorAll('#tiers tr[data-upstream]')].map(r => ({
              name: r.dataset.upstream,
              health: r.querySelector('.health').textContent,
              circuit: r.querySelector('.circuit').textContent,
              limited: r.querySelector('.rate-limited').textContent,
              visible: r.getBoundingClientRect().height > 0 }))""";

    @Test
    void theStatusPageShowsEveryUpstreamsStateAndFollowsARelayGoingDown() throws Exception {
        try (AgentHarness h = AgentHarness.standard(); HeadlessChromium browser = new HeadlessChromium()) {
            h.awaitHealth("primary-1", "up");
            h.awaitHealth("standby-1", "up");
            // one model rate limited for a minute on every path, so the page has a limit to show
            h.sim.storm(FaultMode.RATE_LIMIT_RETRY_AFTER, 1, 60, "paged-");
            HttpResponse<String> limited = h.post("/v1/chat/completions", chat("paged-1", false, "status page"));
            assertEquals(429, limited.statusCode(), limited.body());

            browser.open(h.base() + "/");
            assertEquals("Understudy agent", browser.evaluate("document.title").asText());
            Map<String, JsonNode> rows = new HashMap<>();
            browser.evaluate(ROWS).forEach(r -> rows.put(r.path("name").asText(), r));
            TreeSet<String> expected = new TreeSet<>();
            Map<String, JsonNode> status = new HashMap<>();
            for (JsonNode tier : h.status().path("tiers")) {
                tier.path("upstreams").forEach(u -> {
                    expected.add(u.path("name").asText());
                    status.put(u.path("name").asText(), u);
                });
            }
            assertEquals(expected, new TreeSet<>(rows.keySet()), "a row per upstream of /status");
            int shownLimited = 0;
            for (JsonNode row : rows.values()) {
                JsonNode u = status.get(row.path("name").asText());
                assertTrue(row.path("visible").asBoolean(), row + " is laid out");
                assertEquals(u.path("circuit").asText(), row.path("circuit").asText(), row.toString());
                String text = row.path("limited").asText();
                if (u.path("rate_limited_for_ms").isEmpty()) {
                    assertEquals("\u2013", text, "nothing limited reads as a dash, not {}: " + row);
                } else {
                    assertTrue(text.matches("paged-1 \\d+\\.\\d s"), "a limit reads as model and seconds left: " + row);
                    shownLimited++;
                }
            }
            assertTrue(shownLimited > 0, "the rate-limited model shows on at least one upstream: " + rows);
            assertEquals("up", rows.get("primary-1").path("health").asText());
            assertFalse(browser.evaluate("document.body.innerText").asText().contains("{"), "no raw JSON on the page");
            browser.screenshot(SHOTS.resolve("relays-up.png"));

            h.primaryProxy.mode(TcpProxy.Mode.REFUSE);
            // the page is not reopened: it must refresh itself
            Await.until("the open page to show primary-1 down", Duration.ofSeconds(15), () -> "down".equals(
                    browser.evaluate("document.querySelector('tr[data-upstream=\"primary-1\"] .health').textContent").asText()));
            assertEquals("up", browser.evaluate("document.querySelector('tr[data-upstream=\"standby-1\"] .health').textContent").asText());
            browser.screenshot(SHOTS.resolve("primary-down.png"));
        }
    }
}
