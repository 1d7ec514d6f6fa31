package io.understudy.core;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.understudy.core.wire.Usage;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenTelemetry GenAI client metrics, beside Understudy's own: what a dashboard built for the
 * field's conventions expects from any GenAI client. Recorded per request, for the provider (or
 * relay) that served it or failed it last:
 * <ul>
 *   <li>{@code gen_ai.client.operation.duration} (seconds), with {@code error.type} when it failed;</li>
 *   <li>{@code gen_ai.client.token.usage} ({token}), by {@code gen_ai.token.type} input / output;</li>
 *   <li>{@code gen_ai.client.operation.time_to_first_chunk} (seconds), streams only.</li>
 * </ul>
 * Attributes: {@code gen_ai.operation.name}, {@code gen_ai.provider.name} (the provider's name in
 * config), {@code gen_ai.request.model}, {@code gen_ai.response.model}, {@code server.address},
 * {@code server.port}. Prometheus needs one set of label names per metric, so an attribute that does
 * not apply is the empty string, which PromQL reads as absent. Model names come from clients, so at
 * most {@link #MAX_MODELS} distinct ones are kept as they are; the rest are {@code _other}.
 */
public final class GenAiMetrics {
    public static final String OPERATION_DURATION = "gen_ai.client.operation.duration";
    public static final String TOKEN_USAGE = "gen_ai.client.token.usage";
    public static final String TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk";
    static final int MAX_MODELS = 200;
    static final String OTHER = "_other";
    /** The convention's bucket boundaries for token counts. */
    private static final double[] TOKEN_BUCKETS = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
            4194304, 16777216, 67108864};

    /**
     * One request as the conventions describe it: {@code operation} is {@code chat} or
     * {@code embeddings}; {@code responseModel} is empty when no answer named one.
     */
    public record Call(String operation, String provider, String requestModel, String responseModel, URI server) {
        /** A chat, Messages or Responses request is a chat operation; embeddings are their own. */
        public static String operationOf(String endpoint) {
            return endpoint.equals("embeddings") ? "embeddings" : "chat";
        }
    }

    private final MeterRegistry registry;
    private final Set<String> models = ConcurrentHashMap.newKeySet();

    public GenAiMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void operation(Call call, Duration duration, Optional<String> errorType) {
        Timer.builder(OPERATION_DURATION).description("GenAI operation duration")
                .tags(tags(call)).tag("error.type", errorType.orElse(""))
                .publishPercentileHistogram().register(registry).record(duration);
    }

    public void tokens(Call call, Usage usage) {
        record(call, "input", usage.promptTokens());
        record(call, "output", usage.completionTokens());
    }

    public void firstChunk(Call call, Duration sinceRequest) {
        Timer.builder(TIME_TO_FIRST_CHUNK).description("Time to receive the first chunk of a stream")
                .tags(tags(call)).publishPercentileHistogram().register(registry).record(sinceRequest);
    }

    private void record(Call call, String type, long tokens) {
        DistributionSummary.builder(TOKEN_USAGE).description("Number of input and output tokens used")
                .tags(tags(call)).tag("gen_ai.token.type", type).serviceLevelObjectives(TOKEN_BUCKETS)
                .register(registry).record(tokens);
    }

    private Tags tags(Call call) {
        int port = call.server().getPort() >= 0 ? call.server().getPort() : "https".equals(call.server().getScheme()) ? 443 : 80;
        return Tags.of("gen_ai.operation.name", call.operation(), "gen_ai.provider.name", call.provider(),
                "gen_ai.request.model", bounded(call.requestModel()), "gen_ai.response.model", bounded(call.responseModel()),
                "server.address", String.valueOf(call.server().getHost()), "server.port", String.valueOf(port));
    }

    /** The model as it is while fewer than {@link #MAX_MODELS} have been seen, else {@code _other}. */
    String bounded(String model) {
        if (model.isEmpty() || models.contains(model)) {
            return model;
        }
        if (models.size() < MAX_MODELS && models.add(model)) {
            return model;
        }
        return models.contains(model) ? model : OTHER;
    }
}
