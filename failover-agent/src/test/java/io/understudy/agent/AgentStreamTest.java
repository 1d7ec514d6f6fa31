package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.understudy.agent.AgentHarness.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streams through the agent: transparent failover before the first byte; after it, continuation,
 * verified replay, or a clean in-band error. Never a truncated stream that looks complete.
 */
class AgentStreamTest {
    private static AgentHarness h;

    @BeforeAll
    static void start() throws Exception {
        // 10 tokens 60 ms apart: slow enough to cut a stream in the middle on purpose
        h = new AgentHarness(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(60), 10), "");
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @BeforeEach
    void reset() {
        h.reset();
    }

    /** A stream as the client saw it. */
    record Seen(int status, List<String> data, String upstream, String requestId) {
        String text() throws Exception {
            StringBuilder sb = new StringBuilder();
            for (String d : data) {
                if (!d.equals("[DONE]")) {
                    sb.append(Json.parse(d).path("choices").path(0).path("delta").path("content").asText(""));
                }
            }
            return sb.toString();
        }

        boolean done() {
            return !data.isEmpty() && data.get(data.size() - 1).equals("[DONE]");
        }

        JsonNode lastEvent() throws Exception {
            return Json.parse(data.get(data.size() - 1));
        }
    }

    /** Reads a stream; after {@code cutAfter} content chunks runs {@code fault} once (e.g. cut the primary). */
    private static Seen stream(String body, int cutAfter, Runnable fault) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<InputStream> r = h.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        List<String> data = new ArrayList<>();
        int content = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                String d = line.substring(6);
                data.add(d);
                if (!d.equals("[DONE]") && !Json.parse(d).path("choices").path(0).path("delta").path("content").asText("").isEmpty()) {
                    content++;
                    if (content == cutAfter && fault != null) {
                        fault.run();
                    }
                }
            }
        }
        return new Seen(r.statusCode(), data, r.headers().firstValue("x-understudy-upstream").orElse("none"),
                r.headers().firstValue("x-request-id").orElse("none"));
    }

    @Test
    void healthyStreamIsTheWholeAnswer() throws Exception {
        Seen s = stream(chat("m", true, "whole"), 0, null);
        assertEquals(200, s.status());
        assertEquals("primary-1", s.upstream());
        assertEquals(h.expectedText("whole"), s.text());
        assertTrue(s.done());
    }

    @Test
    void failoverBeforeTheFirstByteIsInvisible() throws Exception {
        h.primaryProxy.mode(io.understudy.testkit.TcpProxy.Mode.BLACKHOLE);
        Seen s = stream(chat("m", true, "invisible"), 0, null);
        assertEquals("standby-1", s.upstream());
        assertEquals(h.expectedText("invisible"), s.text());
        assertTrue(s.done());
    }

    @Test
    void cutMidStreamIsResumedByContinuationWhereThePrefillWorks() throws Exception {
        Seen s = stream(chat("recover-a", true, "continue me"), 3, h.primaryProxy::cutAll);
        assertEquals("primary-1", s.upstream(), "the stream began on the primary");
        assertEquals(h.expectedText("continue me"), s.text(), "one complete answer, nothing lost or repeated");
        assertTrue(s.done());
        assertTrue(h.get("/metrics").body().contains("understudy_agent_stream_recoveries_total{mode=\"continuation\",outcome=\"ok\"}"));
    }

    private static String withUsage(String model, String content) {
        return "{\"model\":\"" + model + "\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    }

    private static JsonNode usageOf(Seen s) throws Exception {
        for (String d : s.data()) {
            if (!d.equals("[DONE]") && Json.parse(d).hasNonNull("usage")) {
                return Json.parse(d).get("usage");
            }
        }
        throw new AssertionError("no usage chunk in " + s.data());
    }

    /** Regression: a resumed stream named the first model and counted only the continuation's tokens. */
    @Test
    void resumedStreamNamesTheTailsModelAndCountsTheWholeAnswer() throws Exception {
        Seen whole = stream(withUsage("recover-tail", "tail usage"), 0, null);
        long wholeCompletion = usageOf(whole).path("completion_tokens").asLong();
        Seen s = stream(withUsage("recover-tail", "tail usage"), 3, h.primaryProxy::cutAll);
        assertEquals(h.expectedText("tail usage"), s.text());
        assertTrue(s.done());
        String lastModel = "";
        for (String d : s.data()) {
            if (!d.equals("[DONE]")) {
                lastModel = Json.parse(d).path("model").asText();
            }
        }
        assertEquals("recover-tail-on-standby", lastModel, "the tail's chunks name the model that wrote them");
        assertEquals(wholeCompletion, usageOf(s).path("completion_tokens").asLong(), "usage covers the whole answer");

        JsonNode receipt = Json.parse(h.get("/v1/receipts/" + s.requestId()).body());
        JsonNode calls = receipt.path("calls");
        assertEquals(2, calls.size(), receipt.toString());
        assertEquals("primary-1", calls.get(0).path("upstream").asText());
        assertEquals("broken", calls.get(0).path("outcome").asText());
        assertTrue(calls.get(0).path("billed").asBoolean(), "the cut call did work its provider bills");
        assertEquals("standby-1", calls.get(1).path("upstream").asText());
        assertEquals("ok", calls.get(1).path("outcome").asText());
        assertTrue(calls.get(1).path("usage").path("completion_tokens").asLong() < wholeCompletion,
                "the continuation call itself wrote only the tail");
        assertTrue(calls.get(1).hasNonNull("cost_usd"), receipt.toString());
        assertTrue(calls.get(1).path("relay_receipt").asText().startsWith("standby-1 /v1/receipts/"), receipt.toString());
        assertEquals("recover-tail-on-standby", receipt.path("model").asText());
        assertTrue(receipt.path("usage_estimated").asBoolean());
        assertFalse(receipt.path("cost").path("complete").asBoolean(), "the cut call's cost is unknown, and said so");
    }

    @Test
    void replayedStreamsUsageIsTheReplaysOwnAndExact() throws Exception {
        Seen whole = stream(withUsage("replay-u", "replay usage"), 0, null);
        Seen s = stream(withUsage("replay-u", "replay usage"), 3, h.primaryProxy::cutAll);
        assertEquals(h.expectedText("replay usage"), s.text());
        assertEquals(usageOf(whole), usageOf(s));
        JsonNode receipt = Json.parse(h.get("/v1/receipts/" + s.requestId()).body());
        assertFalse(receipt.path("usage_estimated").asBoolean());
        assertEquals(2, receipt.path("calls").size(), receipt.toString());
    }

    @Test
    void receiptOfAnUnknownRequestIsAClean404() throws Exception {
        var r = h.get("/v1/receipts/no-such-request");
        assertEquals(404, r.statusCode());
        assertEquals("receipt_not_found", Json.parse(r.body()).path("error").path("code").asText());
    }

    @Test
    void cutMidStreamIsResumedByAMatchingReplayWithoutPrefill() throws Exception {
        Seen s = stream(chat("replay-a", true, "replay me"), 3, h.primaryProxy::cutAll);
        assertEquals(h.expectedText("replay me"), s.text());
        assertTrue(s.done());
        assertTrue(h.get("/metrics").body().contains("understudy_agent_stream_recoveries_total{mode=\"replay\",outcome=\"ok\"}"));
    }

    @Test
    void aRejectedPrefillNeverMasksTheRealErrorAndFallsBackToReplay() throws Exception {
        // prefill-test: the primary cuts the stream; the standby rejects prefill with a 400
        Seen s = stream(chat("prefill-test", true, "prefill"), 0, null);
        assertEquals(h.expectedText("prefill"), s.text());
        assertTrue(s.done());
        for (String d : s.data()) {
            assertFalse(d.contains("prefill_not_supported"), "the client never sees the prefill rejection");
        }
        assertTrue(h.get("/metrics").body().contains("understudy_agent_stream_recoveries_total{mode=\"continuation\",outcome=\"rejected\"}"));
    }

    @Test
    void cutEverywhereEndsWithACleanErrorNeverAFakeEnd() throws Exception {
        Seen s = stream(chat("sim-cut", true, "cut everywhere"), 0, null);
        assertFalse(s.done(), "no [DONE] on a truncated answer");
        assertTrue(s.lastEvent().has("error"), "the stream ends with an error event");
        String expected = h.expectedText("cut everywhere");
        assertTrue(expected.startsWith(s.text()) && s.text().length() < expected.length(), "what arrived is a true prefix");
    }

    /** A client that leaves mid-stream: the agent learns it from a failed write, ends the call, says so in the receipt, and goes on serving. */
    /** Sends a stream, reads two chunks and drops the connection; returns the request id. */
    private static String leaveAfterTwoChunks(String prompt) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chat("sim-leave", true, prompt))).build();
        HttpResponse<InputStream> r = h.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        int read = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null && read < 2; line = reader.readLine()) {
                if (line.startsWith("data: ")) {
                    read++;
                }
            }
        } // closed before its end: the connection is dropped
        assertEquals(2, read);
        return id;
    }

    @Test
    void aClientThatLeavesMidStreamEndsItsUpstreamCall() throws Exception {
        String id = leaveAfterTwoChunks("the client leaves early");
        io.understudy.testkit.Await.until("the receipt of " + id + " says the client went away", Duration.ofSeconds(10), () -> {
            try {
                HttpResponse<String> receipt = h.get("/v1/receipts/" + id);
                return receipt.statusCode() == 200 && Json.parse(receipt.body()).path("outcome").asText().equals("client_closed");
            } catch (Exception notYet) {
                return false;
            }
        });
        Seen after = stream(chat("sim-leave", true, "still serving"), 0, null);
        assertTrue(after.done());
        assertEquals(h.expectedText("still serving"), after.text());
    }

    /**
     * A stream's attempt ends with the stream, however it ends (read to its end, the client gone,
     * stalled, cut and resumed): its upstream counts nothing in flight afterwards. The request thread,
     * an abort or the watch ends it, and a leak would skew routing and health for good.
     */
    @Test
    void everyWayAStreamEndsLeavesNothingInFlight() throws Exception {
        assertTrue(stream(chat("m", true, "whole"), 0, null).done());
        leaveAfterTwoChunks("gone");
        assertFalse(stream(chat("sim-stall", true, "stalled"), 0, null).done());
        stream(chat("sim-cut", true, "cut"), 0, null);
        io.understudy.testkit.Await.until("no upstream counts an attempt in flight", Duration.ofSeconds(10), () -> {
            try {
                List<Integer> inFlight = new java.util.ArrayList<>();
                for (var tier : Json.parse(h.get("/status").body()).path("tiers")) {
                    tier.path("upstreams").forEach(u -> inFlight.add(u.path("in_flight").asInt(-1)));
                }
                return !inFlight.isEmpty() && inFlight.stream().allMatch(n -> n == 0);
            } catch (Exception notYet) {
                return false;
            }
        });
    }

    @Test
    void stalledStreamIsDetectedAndEndsCleanly() throws Exception {
        long start = System.nanoTime();
        Seen s = stream(chat("sim-stall", true, "stall"), 0, null);
        long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertFalse(s.done());
        assertTrue(s.lastEvent().has("error"));
        assertTrue(millis < 15_000, "a stall must not hang the client; took " + millis + " ms");
    }

    @Test
    void streamWithoutDoneIsFinalisedPromptly() throws Exception {
        Seen s = stream(chat("sim-no-done", true, "no done"), 0, null);
        assertTrue(s.done());
        assertEquals(h.expectedText("no done"), s.text());
    }

    @Test
    void malformedChunksNeverReachTheClient() throws Exception {
        Seen s = stream(chat("sim-malformed", true, "garbage"), 0, null);
        for (String d : s.data()) {
            if (!d.equals("[DONE]")) {
                Json.parse(d); // throws on garbage
            }
        }
        assertTrue(s.done() || s.lastEvent().has("error"));
        if (s.done()) {
            assertEquals(h.expectedText("garbage"), s.text(), "a finished stream is the whole answer");
        }
    }

    /**
     * An Anthropic client's stream cut mid-way on the primary is resumed on the standby, whether the
     * provider behind the relays speaks chat (events translated all along) or Messages (the events
     * pass as they came, and the resumed tail is fitted onto them: one message, blocks consistent).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"recover-b", "claude-resume"})
    void anthropicClientsGetResumedStreamsToo(String model) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(h.base() + "/v1/messages"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"max_tokens\":100,\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"anthropic resume\"}]}")).build();
        HttpResponse<InputStream> r = h.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        StringBuilder text = new StringBuilder();
        List<String> events = new ArrayList<>();
        java.util.Set<Integer> open = new java.util.HashSet<>();
        int deltas = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.startsWith("event: ")) {
                    events.add(line.substring(7));
                } else if (line.startsWith("data: ")) {
                    JsonNode e = Json.parse(line.substring(6));
                    int index = e.path("index").asInt(-1);
                    switch (e.path("type").asText()) {
                        case "content_block_start" -> assertTrue(open.add(index), "block " + index + " opened twice");
                        case "content_block_stop" -> assertTrue(open.remove(index), "block " + index + " closed but not open");
                        case "content_block_delta" -> {
                            assertTrue(open.contains(index), "a delta for block " + index + ", which is not open");
                            text.append(e.path("delta").path("text").asText());
                            if (++deltas == 3) {
                                h.primaryProxy.cutAll();
                            }
                        }
                        default -> {
                            // message events are counted below
                        }
                    }
                }
            }
        }
        assertEquals(h.expectedText("anthropic resume"), text.toString());
        assertEquals("message_stop", events.get(events.size() - 1));
        assertEquals(1, events.stream().filter("message_start"::equals).count());
        assertTrue(open.isEmpty(), "every block closed: " + open);
    }

    /**
     * A Responses client's stream cut mid-way on the primary is resumed on the standby: the events
     * before the cut are the provider's own, the tail is fitted onto them (one response.created, the
     * same message item, sequence numbers going up) and response.completed carries the whole text.
     */
    @Test
    void responsesClientsGetResumedStreamsToo() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(h.base() + "/v1/responses"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"recover-r\",\"stream\":true,"
                        + "\"input\":\"responses resume\"}")).build();
        HttpResponse<InputStream> r = h.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        StringBuilder text = new StringBuilder();
        List<String> types = new ArrayList<>();
        JsonNode completed = null;
        long lastSequence = -1;
        int deltas = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                JsonNode e = Json.parse(line.substring(6));
                types.add(e.path("type").asText());
                long sequence = e.path("sequence_number").asLong();
                assertTrue(sequence > lastSequence, "sequence numbers go up: " + sequence + " after " + lastSequence);
                lastSequence = sequence;
                switch (e.path("type").asText()) {
                    case "response.output_text.delta" -> {
                        text.append(e.path("delta").asText());
                        if (++deltas == 3) {
                            h.primaryProxy.cutAll();
                        }
                    }
                    case "response.completed" -> completed = e.path("response");
                    default -> {
                        // the other events frame the text
                    }
                }
            }
        }
        String expected = h.expectedText("responses resume");
        assertEquals(expected, text.toString());
        assertEquals(1, types.stream().filter("response.created"::equals).count(), types.toString());
        assertEquals("response.completed", types.get(types.size() - 1));
        assertEquals(expected, completed.path("output").path(0).path("content").path(0).path("text").asText());
    }
}
