package io.understudy.core.tracing;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.understudy.core.Version;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Spans for requests and the calls made for them, exported over OTLP when {@link TracingSettings}
 * say so; otherwise nothing is recorded, yet a caller's W3C trace context still passes on to the
 * next hop, so a trace started by the app is not cut at a hop that does not record.
 * Spans carry names, models, tiers, outcomes and reasons: never a prompt or an answer.
 */
public final class Tracing implements AutoCloseable {
    public static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    public static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    public static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
    public static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
    public static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    public static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    public static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    public static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    public static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("understudy.request_id");
    public static final AttributeKey<Boolean> STREAM = AttributeKey.booleanKey("understudy.stream");
    public static final AttributeKey<String> TIER = AttributeKey.stringKey("understudy.tier");
    public static final AttributeKey<String> UPSTREAM = AttributeKey.stringKey("understudy.upstream");
    public static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("understudy.attempt");
    public static final AttributeKey<String> MOVE = AttributeKey.stringKey("understudy.move");
    public static final AttributeKey<String> REASON = AttributeKey.stringKey("understudy.decision.reason");
    public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("understudy.outcome");

    private static final W3CTraceContextPropagator PROPAGATOR = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<Function<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Function<String, String> carrier) {
            return List.of(); // only read by name
        }

        @Override
        public String get(Function<String, String> carrier, String key) {
            return carrier == null ? null : carrier.apply(key);
        }
    };

    /** Null when off. */
    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;

    private Tracing(OpenTelemetrySdk sdk, Tracer tracer) {
        this.sdk = sdk;
        this.tracer = tracer;
    }

    /** Records nothing; passes a caller's trace context on. */
    public static Tracing off() {
        return new Tracing(null, OpenTelemetry.noop().getTracer("io.understudy"));
    }

    /**
     * The SDK as the standard OTEL_* settings describe it (service name {@code service} unless
     * OTEL_SERVICE_NAME says otherwise; OTLP over HTTP/protobuf unless the protocol is named), or
     * {@link #off()} when they do not turn tracing on. Metrics and logs stay off here: those are
     * Prometheus's and the log's.
     */
    public static Tracing start(String service, String instance, TracingSettings settings) {
        if (!settings.enabled()) {
            return off();
        }
        Map<String, String> defaults = Map.of("otel.service.name", service, "otel.traces.exporter", "otlp",
                "otel.exporter.otlp.protocol", "http/protobuf", "otel.metrics.exporter", "none", "otel.logs.exporter", "none",
                "otel.propagators", "tracecontext");
        OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> defaults)
                .addPropertiesCustomizer(config -> settings.properties())
                .addResourceCustomizer((resource, config) -> resource.getAttribute(AttributeKey.stringKey("service.instance.id")) != null
                        ? resource : resource.merge(Resource.builder().put("service.instance.id", instance).build()))
                .disableShutdownHook()
                .build()
                .getOpenTelemetrySdk();
        return new Tracing(sdk, sdk.getTracer("io.understudy", Version.current()));
    }

    public boolean recording() {
        return sdk != null;
    }

    /**
     * The span of a request that came in, child of the caller's trace context when its headers
     * ({@code header}: a lookup by lower-case name) carry one.
     */
    public Span request(String name, Function<String, String> header) {
        if (sdk == null && header.apply("traceparent") == null) {
            return Span.getInvalid(); // tracing off and no context to pass on: nothing to build per request
        }
        Context parent = PROPAGATOR.extract(Context.root(), header, HEADERS);
        return tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.SERVER).startSpan();
    }

    /** A call made for {@code parent}'s request (to a relay or a provider). */
    public Span call(Span parent, String name) {
        if (sdk == null) {
            return parent; // tracing off: a no-op child would carry the parent's context unchanged, so pass that on
        }
        return tracer.spanBuilder(name).setParent(Context.root().with(parent)).setSpanKind(SpanKind.CLIENT).startSpan();
    }

    /** The W3C trace context headers that make the next hop's spans children of {@code span}; empty when there is none. */
    public static Map<HeaderName, String> headers(Span span) {
        if (!span.getSpanContext().isValid()) {
            return Map.of();
        }
        Map<HeaderName, String> out = new LinkedHashMap<>(2);
        PROPAGATOR.inject(Context.root().with(span), out, (carrier, key, value) -> carrier.put(HeaderNames.create(key), value));
        return out;
    }

    /** Marks {@code span} failed with the outcome's short name and its message (never a prompt). */
    public static void failed(Span span, String errorType, String message) {
        span.setAttribute(OUTCOME, errorType);
        span.setAttribute(ERROR_TYPE, errorType);
        span.setStatus(StatusCode.ERROR, message == null ? errorType : message);
    }

    /** Exports what is still queued, then stops. */
    @Override
    public void close() {
        if (sdk != null) {
            sdk.shutdown().join(5, TimeUnit.SECONDS);
        }
    }
}
