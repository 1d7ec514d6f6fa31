package io.understudy.core;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.understudy.core.wire.Usage;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GenAI conventions' names and attributes as Prometheus shows them, and the bound on model names. */
class GenAiMetricsTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final GenAiMetrics metrics = new GenAiMetrics(registry);

    @Test
    void aServedAndAFailedOperationWithTheConventionsAttributes() {
        GenAiMetrics.Call call = new GenAiMetrics.Call("chat", "openai-eu", "gpt-4o", "gpt-4o-2024-08-06",
                URI.create("https://eu.api.example/v1"));
        metrics.operation(call, Duration.ofMillis(250), Optional.empty());
        metrics.tokens(call, new Usage(12, 34));
        metrics.firstChunk(call, Duration.ofMillis(80));
        metrics.operation(new GenAiMetrics.Call("chat", "openai-eu", "gpt-4o", "", URI.create("http://127.0.0.1:8090/v1")),
                Duration.ofMillis(10), Optional.of("rate_limited"));
        String text = registry.scrape();
        String served = "gen_ai_client_operation_duration_seconds_count{error_type=\"\",gen_ai_operation_name=\"chat\","
                + "gen_ai_provider_name=\"openai-eu\",gen_ai_request_model=\"gpt-4o\",gen_ai_response_model=\"gpt-4o-2024-08-06\","
                + "server_address=\"eu.api.example\",server_port=\"443\"} 1";
        assertTrue(text.contains(served), text);
        assertTrue(text.contains("error_type=\"rate_limited\""), text);
        assertTrue(text.contains("server_port=\"8090\""), text);
        assertTrue(text.contains("gen_ai_client_token_usage_sum{") && text.contains("gen_ai_token_type=\"output\""), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("gen_ai_client_token_usage_sum{") && l.contains("gen_ai_token_type=\"input\"")
                && l.endsWith(" 12.0")), text);
        assertTrue(text.contains("gen_ai_client_operation_time_to_first_chunk_seconds_count{"), text);
    }

    /** Model names come from clients: a client inventing names must not grow the metrics without bound. */
    @Test
    void modelNamesBeyondTheBoundAreOther() {
        for (int i = 0; i < GenAiMetrics.MAX_MODELS; i++) {
            assertEquals("m" + i, metrics.bounded("m" + i));
        }
        assertEquals(GenAiMetrics.OTHER, metrics.bounded("one-more"));
        assertEquals("m7", metrics.bounded("m7"), "a model seen before keeps its name");
        assertEquals("", metrics.bounded(""));
    }
}
