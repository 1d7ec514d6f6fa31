package io.understudy.core.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Glob;
import io.understudy.core.Json;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.Provider;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The catalog's rules over a fake clock; the providers' lists come from a function, not the network. */
class ModelCatalogTest {
    private final AtomicLong nanos = new AtomicLong(1_000);
    private final Map<String, List<String>> served = new ConcurrentHashMap<>();
    private final Map<String, RuntimeException> failing = new ConcurrentHashMap<>();
    private final AtomicInteger fetches = new AtomicInteger();
    /** While set, a fetch waits for it: a provider slow to list. */
    private volatile java.util.concurrent.CountDownLatch slowProvider;

    private static Provider provider(String name) {
        ProviderConfig c = new ProviderConfig(name, ProviderKind.OPENAI, URI.create("http://127.0.0.1:9/v1"), Optional.empty(),
                Duration.ofSeconds(1), Duration.ofSeconds(1));
        return Provider.create(c, HttpTransport.forProvider(c));
    }

    private ObjectNode list(Provider p) {
        fetches.incrementAndGet();
        java.util.concurrent.CountDownLatch gate = slowProvider;
        if (gate != null) {
            try {
                gate.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        RuntimeException e = failing.get(p.name());
        if (e != null) {
            throw e;
        }
        ObjectNode out = ModelCatalog.emptyOpenAiList();
        served.getOrDefault(p.name(), List.of()).forEach(id -> ((com.fasterxml.jackson.databind.node.ArrayNode) out.get("data"))
                .addObject().put("id", id).put("object", "model").put("created", 1_700_000_000L).put("owned_by", p.name()));
        return out;
    }

    private ModelCatalog catalog(List<Route> routes, Map<String, Provider> providers, Map<String, String> disabled) {
        return new ModelCatalog(new Router(routes, providers, disabled), this::list, Duration.ofMinutes(5), nanos::get);
    }

    private static Route route(String pattern, String... providers) {
        List<Route.Target> targets = new ArrayList<>();
        for (String p : providers) {
            targets.add(new Route.Target(p, Optional.empty()));
        }
        return new Route(new Glob(pattern), targets);
    }

    private static List<String> ids(ObjectNode list) {
        List<String> out = new ArrayList<>();
        list.path("data").forEach(m -> out.add(m.path("id").asText()));
        return out;
    }

    /** Regression: /v1/models answered {"data":[]} when every route was a pattern (bin/understudy up's). */
    @Test
    void aPatternRouteListsWhatItsProviderServes() {
        served.put("sim", List.of("sim-small", "sim-large"));
        ModelCatalog c = catalog(List.of(route("gpt-4o", "sim"), route("*", "sim")), Map.of("sim", provider("sim")), Map.of());
        assertEquals(List.of("gpt-4o", "sim-small", "sim-large"), ids(c.openAiList()));
        assertEquals("sim", c.openAiList().path("data").path(1).path("owned_by").asText(), "the provider's own entry is kept");
    }

    @Test
    void onlyNamesThePatternMatchesAndTheRouterWouldRouteAreListed() {
        served.put("anthropic", List.of("claude-sonnet-4-5", "not-a-claude"));
        served.put("dead", List.of("dead-model"));
        ModelCatalog c = catalog(List.of(route("claude-*", "anthropic"), route("dead-*", "dead")),
                Map.of("anthropic", provider("anthropic")), Map.of("dead", "no key"));
        assertEquals(List.of("claude-sonnet-4-5"), ids(c.openAiList()));
    }

    @Test
    void aStaleListIsRefreshedInTheBackgroundAndAFailingProviderKeepsItsLastList() throws Exception {
        served.put("sim", List.of("a"));
        ModelCatalog c = catalog(List.of(route("*", "sim")), Map.of("sim", provider("sim")), Map.of());
        assertEquals(List.of("a"), ids(c.openAiList()));
        served.put("sim", List.of("a", "b"));
        assertEquals(List.of("a"), ids(c.openAiList()), "fresh for the ttl: not fetched again");
        assertEquals(1, fetches.get());

        nanos.addAndGet(Duration.ofMinutes(6).toNanos());
        slowProvider = new java.util.concurrent.CountDownLatch(1);
        assertEquals(List.of("a"), ids(c.openAiList()), "stale: the old list is served at once while a fetch runs");
        slowProvider.countDown();
        slowProvider = null;
        listUntilFetched(c, 2);
        assertEquals(List.of("a", "b"), awaitIds(c, List.of("a", "b")));

        failing.put("sim", new IllegalStateException("provider down"));
        nanos.addAndGet(Duration.ofMinutes(6).toNanos());
        listUntilFetched(c, 3);
        awaitNoFetch(c);
        assertEquals(List.of("a", "b"), ids(c.openAiList()), "a provider that fails keeps its last list");
        assertEquals(3, fetches.get(), "and is not asked again at once");

        failing.clear();
        nanos.addAndGet(ModelCatalog.RETRY_AFTER_FAILURE.toNanos());
        listUntilFetched(c, 4); // asked again 30 s after the failure, not a whole ttl later
    }

    @Test
    void anthropicCallersGetAnthropicsShape() {
        ObjectNode openAi = ModelCatalog.emptyOpenAiList();
        ((com.fasterxml.jackson.databind.node.ArrayNode) openAi.get("data")).addObject().put("id", "claude-x").put("created", 1_700_000_000L);
        JsonNode a = ModelCatalog.toAnthropic(openAi);
        assertEquals("model", a.path("data").path(0).path("type").asText());
        assertEquals("claude-x", a.path("data").path(0).path("display_name").asText());
        assertEquals("2023-11-14T22:13:20Z", a.path("data").path(0).path("created_at").asText());
        assertEquals(false, a.path("has_more").asBoolean(true));
        assertEquals("claude-x", a.path("first_id").asText());
        assertEquals(Json.object().nullNode(), ModelCatalog.toAnthropic(ModelCatalog.emptyOpenAiList()).get("first_id"));
    }

    /** Lists (as clients do) until the n-th fetch has begun; a fetch still finishing is not started twice. */
    private void listUntilFetched(ModelCatalog c, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (fetches.get() < n && System.nanoTime() < deadline) {
            c.openAiList();
            Thread.sleep(5);
        }
        assertEquals(n, fetches.get(), "fetches");
    }

    private static void awaitNoFetch(ModelCatalog c) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (c.fetchRunning() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(false, c.fetchRunning(), "the fetch ended");
    }

    private List<String> awaitIds(ModelCatalog c, List<String> expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        List<String> seen = ids(c.openAiList());
        while (!seen.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            seen = ids(c.openAiList());
        }
        return seen;
    }
}
