package io.understudy.core.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.provider.Provider;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * What {@code GET /v1/models} lists: every model a client can call here. That is each literal
 * route, plus the models that the providers behind pattern routes list themselves (a route
 * {@code "*"} to provider-sim lists what provider-sim serves), as long as the router would route
 * that name. A provider's list is kept for {@code ttl}; once stale it is fetched again in the
 * background while the old one is served, and a provider that fails keeps its last list (and is
 * asked again {@link #RETRY_AFTER_FAILURE} later). Only the very first listing waits for the
 * providers, at most {@link #FIRST_FETCH_WAIT}.
 */
public final class ModelCatalog {
    public static final Duration DEFAULT_TTL = Duration.ofMinutes(5);
    static final Duration FIRST_FETCH_WAIT = Duration.ofSeconds(2);
    static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(30);
    private static final Logger LOG = Logger.getLogger(ModelCatalog.class.getName());

    /** One provider's list: its entries by id, and when it was fetched. */
    private record Listing(Map<String, ObjectNode> models, long fetchedNanos) {
    }

    private final Router router;
    private final Function<Provider, ObjectNode> fetch;
    private final Duration ttl;
    private final LongSupplier nanos;
    private final Map<String, Listing> listings = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> fetching = new ConcurrentHashMap<>();

    /** {@code fetch}: a provider's model list in OpenAI's shape (in use: {@link Provider#models}). */
    public ModelCatalog(Router router, Function<Provider, ObjectNode> fetch, Duration ttl, LongSupplier nanos) {
        this.router = router;
        this.fetch = fetch;
        this.ttl = ttl;
        this.nanos = nanos;
    }

    public static ModelCatalog of(Router router) {
        return new ModelCatalog(router, Provider::models, DEFAULT_TTL, System::nanoTime);
    }

    /** The list in OpenAI's shape: {@code {"object":"list","data":[{"id","object","created","owned_by"}]}}. */
    public ObjectNode openAiList() {
        awaitFirstListings(refreshStale());
        Map<String, ObjectNode> out = new LinkedHashMap<>();
        for (Route route : router.routes()) {
            String pattern = route.model().pattern();
            List<Provider> providers = route.targets().stream().map(t -> router.providers().get(t.provider()))
                    .filter(java.util.Objects::nonNull).toList();
            if (providers.isEmpty()) {
                continue;
            }
            if (!pattern.contains("*")) {
                out.putIfAbsent(pattern, Json.object().put("id", pattern).put("object", "model").put("created", 0)
                        .put("owned_by", providers.getFirst().name()));
                continue;
            }
            for (Provider p : providers) {
                Listing listing = listings.get(p.name());
                if (listing == null) {
                    continue;
                }
                listing.models().forEach((id, entry) -> {
                    if (route.model().matches(id) && !router.plan(id).attempts().isEmpty()) {
                        out.putIfAbsent(id, entry);
                    }
                });
            }
        }
        ObjectNode list = emptyOpenAiList();
        ArrayNode data = (ArrayNode) list.get("data");
        out.values().forEach(e -> data.add(e.deepCopy()));
        return list;
    }

    public static ObjectNode emptyOpenAiList() {
        ObjectNode list = Json.object().put("object", "list");
        list.putArray("data");
        return list;
    }

    /** Whether a provider's list is being fetched right now. */
    boolean fetchRunning() {
        return !fetching.isEmpty();
    }

    /**
     * An OpenAI-shaped list in the shape of Anthropic's {@code GET /v1/models}, for callers that
     * send {@code anthropic-version}.
     */
    public static ObjectNode toAnthropic(ObjectNode openAiList) {
        ObjectNode out = Json.object();
        ArrayNode data = out.putArray("data");
        for (JsonNode m : openAiList.path("data")) {
            String id = m.path("id").asText();
            data.addObject().put("type", "model").put("id", id).put("display_name", m.path("display_name").asText(id))
                    .put("created_at", Instant.ofEpochSecond(Math.max(0, m.path("created").asLong(0))).toString());
        }
        out.put("has_more", false);
        if (data.isEmpty()) {
            out.putNull("first_id").putNull("last_id");
        } else {
            out.put("first_id", data.get(0).path("id").asText()).put("last_id", data.get(data.size() - 1).path("id").asText());
        }
        return out;
    }

    /** Starts a fetch for every provider behind a pattern route whose list is stale; returns those never listed. */
    private List<CompletableFuture<Void>> refreshStale() {
        Set<String> behindPatterns = new LinkedHashSet<>();
        for (Route route : router.routes()) {
            if (route.model().pattern().contains("*")) {
                route.targets().forEach(t -> behindPatterns.add(t.provider()));
            }
        }
        List<CompletableFuture<Void>> neverListed = new ArrayList<>();
        long now = nanos.getAsLong();
        for (String name : behindPatterns) {
            Provider provider = router.providers().get(name);
            if (provider == null) {
                continue;
            }
            Listing listing = listings.get(name);
            if (listing != null && now - listing.fetchedNanos() < ttl.toNanos()) {
                continue;
            }
            CompletableFuture<Void> running = fetching.computeIfAbsent(name, n -> start(provider));
            if (listing == null) {
                neverListed.add(running);
            }
        }
        return neverListed;
    }

    private CompletableFuture<Void> start(Provider provider) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name("models-" + provider.name()).start(() -> {
            try {
                Map<String, ObjectNode> models = new LinkedHashMap<>();
                for (JsonNode m : fetch.apply(provider).path("data")) {
                    String id = m.path("id").asText("");
                    if (!id.isEmpty() && m instanceof ObjectNode entry) {
                        models.put(id, entry);
                    }
                }
                listings.put(provider.name(), new Listing(models, nanos.getAsLong()));
            } catch (RuntimeException e) {
                // keep the last list (if any); try again at a listing RETRY_AFTER_FAILURE from now (or ttl, if shorter)
                Listing last = listings.get(provider.name());
                long retryAt = nanos.getAsLong() - ttl.toNanos() + Math.min(ttl.toNanos(), RETRY_AFTER_FAILURE.toNanos());
                listings.put(provider.name(), new Listing(last == null ? Map.of() : last.models(), retryAt));
                LOG.info(() -> "model list of " + provider.name() + " not refreshed: " + e.getMessage()
                        + (last == null ? "" : " (serving its last list)"));
            } finally {
                fetching.remove(provider.name());
                done.complete(null);
            }
        });
        return done;
    }

    private static void awaitFirstListings(List<CompletableFuture<Void>> neverListed) {
        if (neverListed.isEmpty()) {
            return;
        }
        try {
            CompletableFuture.allOf(neverListed.toArray(CompletableFuture[]::new))
                    .get(FIRST_FETCH_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // list what is there; the slow provider's models appear once it answers
        }
    }
}
