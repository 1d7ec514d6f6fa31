package io.understudy.core.server;

import io.understudy.core.Glob;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.Provider;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
import io.understudy.core.routing.Requirement;
import io.understudy.core.routing.Route;
import io.understudy.core.routing.Router;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PassThroughCandidatesTest {
    private static Provider provider(String name, ProviderKind kind) {
        return provider(name, kind, Map.of());
    }

    private static Provider provider(String name, ProviderKind kind, Map<String, String> tags) {
        ProviderConfig c = new ProviderConfig(name, kind, URI.create("http://127.0.0.1:9/v1"), Optional.empty(),
                Duration.ofSeconds(1), Duration.ofSeconds(1), true, tags);
        return Provider.create(c, HttpTransport.forProvider(c));
    }

    /**
     * A requirement filters both lists: the model's route, and the "every provider" list for calls
     * without a route. A route whose providers all miss it leaves no candidate (a 422 to the client),
     * never "any provider", which would send the call where the client said it must not go.
     */
    @Test
    void aRequirementFiltersTheRouteAndNeverFallsBackToAnyProvider() {
        Map<String, Provider> providers = new LinkedHashMap<>();
        providers.put("us", provider("us", ProviderKind.OPENAI, Map.of("region", "us")));
        providers.put("eu", provider("eu", ProviderKind.OPENAI, Map.of("region", "eu")));
        providers.put("untagged", provider("untagged", ProviderKind.OPENAI));
        Router router = new Router(List.of(
                new Route(new Glob("us-only"), List.of(new Route.Target("us", Optional.empty()), new Route.Target("untagged", Optional.empty()))),
                new Route(new Glob("mixed"), List.of(new Route.Target("us", Optional.empty()), new Route.Target("eu", Optional.empty())))),
                providers, Map.of());
        Requirement eu = Requirement.parse("region=eu");
        assertEquals(List.of("eu"), names(PassThrough.candidates(router, Optional.of("mixed"), eu)));
        assertEquals(List.of(), names(PassThrough.candidates(router, Optional.of("us-only"), eu)));
        assertEquals(List.of("eu"), names(PassThrough.candidates(router, Optional.empty(), eu)));
        assertEquals(List.of("eu"), names(PassThrough.candidates(router, Optional.of("no-route"), eu)));
        FailureException refused = assertThrows(FailureException.class, () -> PassThrough.compliantOrRefuse(List.of(), router,
                Optional.of("us-only"), eu));
        Failure.ClientError c = (Failure.ClientError) refused.failure();
        assertEquals(422, c.status());
        assertEquals("requirement_not_met", c.code());
        assertTrue(c.message().contains("region=eu") && c.message().contains("us (region is us, not eu)")
                && c.message().contains("untagged (no region tag)"), c.message());
    }

    private static List<String> names(List<PassThrough.Candidate> candidates) {
        return candidates.stream().map(PassThrough.Candidate::name).toList();
    }

    /**
     * Regression, ci57: a multipart upload (no model) went to "the first OpenAI-compatible provider",
     * but the router kept its providers in a Map.copyOf, whose order is not the config's: now and
     * then the first was a dead one and the call failed with 502.
     */
    @Test
    void withoutAModelEveryOpenAiProviderIsACandidateInConfigOrder() {
        Map<String, Provider> providers = new LinkedHashMap<>();
        providers.put("anthropic", provider("anthropic", ProviderKind.ANTHROPIC));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String name = String.format("p%02d", i);
            providers.put(name, provider(name, ProviderKind.OPENAI));
            expected.add(name);
        }
        Router router = new Router(List.of(new Route(new Glob("m"), List.of(new Route.Target("p05", Optional.empty()),
                new Route.Target("p02", Optional.of("renamed"))))), providers, Map.of());
        assertEquals(expected, PassThrough.candidates(router, Optional.empty(), Requirement.NONE).stream().map(PassThrough.Candidate::name).toList());
        assertEquals(expected, PassThrough.candidates(router, Optional.of("no-route"), Requirement.NONE).stream().map(PassThrough.Candidate::name).toList());
        List<PassThrough.Candidate> routed = PassThrough.candidates(router, Optional.of("m"), Requirement.NONE);
        assertEquals(List.of("p05", "p02"), routed.stream().map(PassThrough.Candidate::name).toList());
        assertEquals(Optional.of("renamed"), routed.get(1).renameModelTo());
    }
}
