package io.understudy.core.server;

import io.understudy.core.Glob;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.Provider;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
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

class PassThroughCandidatesTest {
    private static Provider provider(String name, ProviderKind kind) {
        ProviderConfig c = new ProviderConfig(name, kind, URI.create("http://127.0.0.1:9/v1"), Optional.empty(),
                Duration.ofSeconds(1), Duration.ofSeconds(1));
        return Provider.create(c, HttpTransport.forProvider(c));
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
        assertEquals(expected, PassThrough.candidates(router, Optional.empty()).stream().map(PassThrough.Candidate::name).toList());
        assertEquals(expected, PassThrough.candidates(router, Optional.of("no-route")).stream().map(PassThrough.Candidate::name).toList());
        List<PassThrough.Candidate> routed = PassThrough.candidates(router, Optional.of("m"));
        assertEquals(List.of("p05", "p02"), routed.stream().map(PassThrough.Candidate::name).toList());
        assertEquals(Optional.of("renamed"), routed.get(1).renameModelTo());
    }
}
