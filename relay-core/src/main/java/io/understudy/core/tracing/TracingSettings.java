package io.understudy.core.tracing;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Whether to trace, and the OpenTelemetry properties to do it with, read from the standard
 * {@code OTEL_*} environment variables. Off by default: tracing is on only when an exporter is named
 * ({@code OTEL_TRACES_EXPORTER} other than {@code none}) or an OTLP endpoint is given, and
 * {@code OTEL_SDK_DISABLED} is not {@code true}.
 */
public record TracingSettings(boolean enabled, Map<String, String> properties) {
    public static final TracingSettings OFF = new TracingSettings(false, Map.of());

    /** The variables read through the config's environment (the SDK reads the process's own too). */
    static final List<String> VARIABLES = List.of("OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_PROPAGATORS",
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "OTEL_BSP_EXPORT_TIMEOUT");

    public TracingSettings {
        properties = Map.copyOf(properties);
    }

    public static TracingSettings from(Function<String, String> env) {
        Map<String, String> properties = new LinkedHashMap<>();
        for (String name : VARIABLES) {
            String value = env.apply(name);
            if (value != null && !value.isBlank()) {
                properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value.trim());
            }
        }
        boolean disabled = "true".equalsIgnoreCase(properties.get("otel.sdk.disabled"));
        String exporter = properties.getOrDefault("otel.traces.exporter", "");
        boolean endpoint = properties.containsKey("otel.exporter.otlp.endpoint")
                || properties.containsKey("otel.exporter.otlp.traces.endpoint");
        boolean on = exporter.isEmpty() ? endpoint : !exporter.equalsIgnoreCase("none");
        return disabled || !on ? OFF : new TracingSettings(true, properties);
    }
}
