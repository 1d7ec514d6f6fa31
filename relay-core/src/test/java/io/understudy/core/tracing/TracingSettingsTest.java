package io.understudy.core.tracing;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TracingSettingsTest {
    private static TracingSettings of(Map<String, String> env) {
        return TracingSettings.from(env::get);
    }

    @Test
    void offWhenNothingIsSet() {
        assertFalse(of(Map.of()).enabled());
        assertFalse(of(Map.of("OTEL_SERVICE_NAME", "app")).enabled(), "a service name alone exports nothing");
    }

    @Test
    void onWithAnEndpointOrANamedExporter() {
        TracingSettings s = of(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_BSP_SCHEDULE_DELAY", "200"));
        assertTrue(s.enabled());
        assertEquals(Map.of("otel.exporter.otlp.endpoint", "http://collector:4318", "otel.bsp.schedule.delay", "200"), s.properties());
        assertTrue(of(Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")).enabled());
        assertTrue(of(Map.of("OTEL_TRACES_EXPORTER", "otlp")).enabled());
    }

    @Test
    void offWhenDisabledOrTheExporterIsNone() {
        assertFalse(of(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_SDK_DISABLED", "true")).enabled());
        assertFalse(of(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER", "none")).enabled());
    }
}
