package io.understudy.agent;

import io.understudy.sim.SimConfig;
import io.understudy.testkit.Await;
import io.understudy.testkit.OtlpReceiver;
import io.understudy.testkit.OtlpReceiver.ReceivedSpan;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Traces over real OTLP/HTTP: an app's request with its own W3C trace context, through the agent,
 * a primary relay whose provider fails (a failover) and the standby, down to provider-sim; every
 * span received by a collector on a socket and decoded. One trace holds the whole path, each hop a
 * child of the one before, and no prompt or answer in any span.
 */
class TracingTest {
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String APP_SPAN = "00f067aa0ba902b7";
    private static final String PROMPT = "a prompt that must stay out of every span";

    @Test
    void oneTraceShowsTheAppsRequestItsFailoverAndEveryProviderCall() throws Exception {
        try (OtlpReceiver collector = new OtlpReceiver();
             AgentHarness h = new AgentHarness(SimConfig.defaults().withPort(0).withTiming(java.time.Duration.ZERO,
                     Duration.ofMillis(5), 8), "", AgentHarness.Tuning.FUNCTIONAL,
                     Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint(), "OTEL_BSP_SCHEDULE_DELAY", "50"))) {
            h.awaitHealth("primary-1", "up");
            h.awaitHealth("standby-1", "up");
            HttpResponse<String> answer = send(h, "primary-fails");
            assertEquals(200, answer.statusCode(), answer.body());
            assertEquals("standby", answer.headers().firstValue("x-understudy-tier").orElse(""), "the primary's provider failed");
            String answerText = io.understudy.core.Json.parse(answer.body()).path("choices").path(0).path("message").path("content").asText();

            // agent: request + 2 attempts; primary relay: request + 2 provider calls (one same-provider retry); standby: request + 1
            Await.until("the spans of all three hops", Duration.ofSeconds(15),
                    () -> collector.spans().stream().filter(s -> s.traceId().equals(TRACE_ID)).count() >= 8);
            List<ReceivedSpan> spans = collector.spans().stream().filter(s -> s.traceId().equals(TRACE_ID)).toList();
            assertEquals(List.of(), collector.errors());

            ReceivedSpan request = one(spans, s -> s.service().equals("understudy-agent") && s.kind() == OtlpReceiver.KIND_SERVER);
            assertEquals(APP_SPAN, request.parentSpanId(), "the agent's span is a child of the app's");
            assertEquals("chat primary-fails", request.name());
            assertEquals("primary-fails", request.attribute("gen_ai.request.model"));
            assertEquals("ok", request.attribute("understudy.outcome"));
            assertEquals("2", request.attribute("understudy.attempt"));

            List<ReceivedSpan> attempts = spans.stream().filter(s -> s.parentSpanId().equals(request.spanId())).toList();
            assertEquals(2, attempts.size(), "an attempt per upstream tried: " + attempts);
            ReceivedSpan onPrimary = one(attempts, s -> s.attribute("understudy.upstream").equals("primary-1"));
            ReceivedSpan onStandby = one(attempts, s -> s.attribute("understudy.upstream").equals("standby-1"));
            assertEquals("primary", onPrimary.attribute("understudy.tier"));
            assertEquals(OtlpReceiver.STATUS_ERROR, onPrimary.statusCode(), "the primary's attempt failed: " + onPrimary);
            assertFalse(onPrimary.attribute("error.type").isEmpty());
            assertEquals("standby", onStandby.attribute("understudy.tier"));
            assertEquals("answered", onStandby.attribute("understudy.outcome"));
            assertFalse(onStandby.attribute("understudy.decision.reason").isEmpty(), "the failover says why: " + onStandby);

            ReceivedSpan primaryRelay = one(spans, s -> s.service().equals("understudy-relay") && s.parentSpanId().equals(onPrimary.spanId()));
            ReceivedSpan standbyRelay = one(spans, s -> s.service().equals("understudy-relay") && s.parentSpanId().equals(onStandby.spanId()));
            assertEquals(OtlpReceiver.KIND_SERVER, standbyRelay.kind());
            assertEquals(OtlpReceiver.STATUS_ERROR, primaryRelay.statusCode());
            List<ReceivedSpan> primaryCalls = spans.stream().filter(s -> s.parentSpanId().equals(primaryRelay.spanId())).toList();
            assertEquals(2, primaryCalls.size(), "the primary relay called its provider twice (one retry): " + primaryCalls);
            primaryCalls.forEach(c -> assertEquals("sim-503", c.attribute("gen_ai.request.model")));
            ReceivedSpan providerCall = one(spans, s -> s.parentSpanId().equals(standbyRelay.spanId()));
            assertEquals(OtlpReceiver.KIND_CLIENT, providerCall.kind());
            assertEquals("sim", providerCall.attribute("gen_ai.provider.name"));

            List<String> seen = h.sim.traceparents();
            assertEquals("00-" + TRACE_ID + "-" + providerCall.spanId() + "-01", seen.get(seen.size() - 1),
                    "the provider got the trace context of the standby's call");
            java.nio.file.Files.createDirectories(java.nio.file.Path.of("target"));
            java.nio.file.Files.writeString(java.nio.file.Path.of("target", "trace-of-a-failover.txt"), tree(spans, APP_SPAN, ""));
            for (ReceivedSpan s : spans) {
                for (String value : s.attributes().values()) {
                    assertFalse(value.contains(PROMPT) || value.contains(answerText), "no prompt or answer in " + s);
                }
            }
        }
    }

    @Test
    void withTracingOffTheAppsTraceContextStillReachesTheProvider() throws Exception {
        try (AgentHarness h = AgentHarness.standard()) {
            h.awaitHealth("primary-1", "up");
            HttpResponse<String> answer = send(h, "gpt-4o-mini");
            assertEquals(200, answer.statusCode(), answer.body());
            List<String> seen = h.sim.traceparents();
            assertEquals(Optional.of("00-" + TRACE_ID + "-" + APP_SPAN + "-01"), seen.stream().reduce((a, b) -> b),
                    "nothing recorded, the app's context passed on unchanged");
        }
    }

    private static HttpResponse<String> send(AgentHarness h, String model) throws Exception {
        return h.http.send(HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("traceparent", "00-" + TRACE_ID + "-" + APP_SPAN + "-01")
                .POST(HttpRequest.BodyPublishers.ofString(chat(model, false, PROMPT))).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The trace as an indented tree (kept in target/ for the README): name, service, outcome, why. */
    private static String tree(List<ReceivedSpan> spans, String parent, String indent) {
        StringBuilder out = new StringBuilder();
        for (ReceivedSpan s : spans) {
            if (s.parentSpanId().equals(parent)) {
                out.append(indent).append(s.name()).append("  [").append(s.service()).append("]  ")
                        .append(s.statusCode() == OtlpReceiver.STATUS_ERROR ? "error: " + s.attribute("error.type") : s.attribute("understudy.outcome"))
                        .append(s.attribute("understudy.decision.reason").isEmpty() ? "" : "  why: " + s.attribute("understudy.decision.reason"))
                        .append('\n').append(tree(spans, s.spanId(), indent + "  "));
            }
        }
        return out.toString();
    }

    private static ReceivedSpan one(List<ReceivedSpan> spans, Predicate<ReceivedSpan> which) {
        List<ReceivedSpan> found = spans.stream().filter(which).toList();
        assertEquals(1, found.size(), "exactly one such span among " + spans);
        return found.get(0);
    }
}
