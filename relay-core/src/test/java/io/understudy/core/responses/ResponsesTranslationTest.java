package io.understudy.core.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.ResponsesRequest;
import io.understudy.core.wire.StreamChunk;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResponsesTranslationTest {
    private static ResponsesRequest request(String json) {
        return ResponsesRequest.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static ObjectNode json(String text) throws IOException {
        return (ObjectNode) Json.parse(text);
    }

    @Test
    void theStatelessPartBecomesAChatRequest() {
        ChatRequest chat = ResponsesTranslation.toChat(request("""
                {"model":"m","instructions":"be brief","max_output_tokens":50,"temperature":0.2,"stream":true,
                 "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
                 "tools":[{"type":"function","name":"lookup","description":"d","parameters":{"type":"object"}}],
                 "tool_choice":{"type":"function","name":"lookup"},
                 "input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]},
                          {"type":"function_call","call_id":"c1","name":"lookup","arguments":"{}"},
                          {"type":"function_call_output","call_id":"c1","output":"found"}]}
                """), "p");
        JsonNode b = chat.body();
        assertEquals("system", b.path("messages").path(0).path("role").asText());
        assertEquals("be brief", b.path("messages").path(0).path("content").asText());
        assertEquals("hi", b.path("messages").path(1).path("content").asText(), "one text part becomes plain content");
        assertEquals("c1", b.path("messages").path(2).path("tool_calls").path(0).path("id").asText());
        assertEquals("tool", b.path("messages").path(3).path("role").asText());
        assertEquals(50, b.path("max_tokens").asInt());
        assertEquals("lookup", b.path("tools").path(0).path("function").path("name").asText());
        assertEquals("lookup", b.path("tool_choice").path("function").path("name").asText());
        assertEquals("out", b.path("response_format").path("json_schema").path("name").asText());
        assertTrue(b.path("stream_options").path("include_usage").asBoolean(), "a relay needs the usage to price");
    }

    @Test
    void aStatefulFeatureIsA400NamingIt() {
        for (String feature : List.of("\"previous_response_id\":\"resp_1\"", "\"store\":true", "\"conversation\":\"conv_1\"")) {
            FailureException e = assertThrows(FailureException.class,
                    () -> ResponsesTranslation.toChat(request("{\"model\":\"m\",\"input\":\"x\"," + feature + "}"), "anthropic"));
            Failure.ClientError c = assertInstanceOf(Failure.ClientError.class, e.failure());
            assertEquals(400, c.status());
            String name = feature.substring(1, feature.indexOf('"', 1));
            assertEquals(name, c.param());
            assertTrue(c.message().contains(name) && c.message().contains("anthropic"), c.message());
        }
        FailureException builtIn = assertThrows(FailureException.class, () -> ResponsesTranslation.toChat(
                request("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"}]}"), "p"));
        assertTrue(builtIn.failure().message().contains("web_search"), builtIn.failure().message());
    }

    @Test
    void aChatCompletionBecomesAResponse() throws IOException {
        ObjectNode response = ResponsesTranslation.fromChat(json("""
                {"id":"chatcmpl-9","created":7,"model":"m","choices":[{"index":0,"finish_reason":"stop",
                 "message":{"role":"assistant","content":"Hello"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}
                """));
        assertEquals("resp_9", response.path("id").asText());
        assertEquals("completed", response.path("status").asText());
        assertEquals("Hello", response.path("output").path(0).path("content").path(0).path("text").asText());
        assertEquals(5, response.path("usage").path("total_tokens").asInt());
    }

    private static List<String> types(List<SseEvent> events) {
        return events.stream().map(SseEvent::event).toList();
    }

    @Test
    void chatChunksBecomeResponsesEventsEndingWithTheWholeResponse() throws IOException {
        ChatToResponsesStream writer = new ChatToResponsesStream("m", 7);
        List<SseEvent> events = new ArrayList<>();
        events.addAll(writer.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"))));
        events.addAll(writer.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}"))));
        events.addAll(writer.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}"))));
        events.addAll(writer.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"))));
        events.addAll(writer.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}"))));
        events.addAll(writer.finish());
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.completed"), types(events));
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i, Json.parse(events.get(i).data()).path("sequence_number").asInt());
        }
        JsonNode completed = Json.parse(events.get(events.size() - 1).data()).path("response");
        assertEquals("Hello", completed.path("output").path(0).path("content").path(0).path("text").asText());
        assertEquals(2, completed.path("usage").path("output_tokens").asInt());
    }

    @Test
    void responsesEventsPassOnAsTheyCameAndATranslatedTailContinuesTheOpenMessage() throws IOException {
        ResponsesToChatStream reader = new ResponsesToChatStream("relay-a", Origin.RELAY, 1);
        List<SseEvent> upstream = List.of(
                SseEvent.named("response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_7\",\"model\":\"m\",\"created_at\":5,\"status\":\"in_progress\",\"output\":[]}}"),
                SseEvent.named("response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_7\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}"),
                SseEvent.named("response.content_part.added", "{\"type\":\"response.content_part.added\",\"sequence_number\":2,\"item_id\":\"msg_7\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}"),
                SseEvent.named("response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_7\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hel\"}"));
        ChatToResponsesStream client = new ChatToResponsesStream("m", 9);
        List<SseEvent> sent = new ArrayList<>();
        List<StreamChunk> chunks = new ArrayList<>();
        for (SseEvent e : upstream) {
            StreamChunk chunk = reader.translate(e);
            chunks.add(chunk);
            sent.addAll(client.accept(chunk));
        }
        assertEquals(upstream, sent, "a Responses client receives the upstream's events untouched");
        assertEquals("Hel", chunks.get(3).contentDelta(), "failover reads the text as chat");
        assertTrue(chunks.get(1).isCarrier());
        sent.clear();
        sent.addAll(client.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}"))));
        sent.addAll(client.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"))));
        sent.addAll(client.finish());
        assertEquals(List.of("response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.completed"), types(sent), "no second response.created, no new item");
        JsonNode first = Json.parse(sent.get(0).data());
        assertEquals("msg_7", first.path("item_id").asText());
        assertEquals(4, first.path("sequence_number").asInt(), "sequence numbers go on");
        JsonNode done = Json.parse(sent.get(1).data());
        assertEquals("Hello", done.path("text").asText(), "the item's text is the whole answer");
        assertEquals("resp_7", Json.parse(sent.get(4).data()).path("response").path("id").asText());
    }

    @Test
    void aFailedUpstreamResponseIsAFailureAndAFailedStreamEndsWithResponseFailed() throws IOException {
        ResponsesToChatStream reader = new ResponsesToChatStream("p", Origin.PROVIDER, 1);
        FailureException e = assertThrows(FailureException.class, () -> reader.translate(SseEvent.named("response.failed",
                "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}")));
        assertEquals("boom", e.failure().message());
        ChatToResponsesStream client = new ChatToResponsesStream("m", 9);
        List<SseEvent> end = client.failed(json("{\"code\":\"upstream_unavailable\",\"message\":\"cut\"}"));
        assertEquals("response.failed", end.get(end.size() - 1).event());
        JsonNode failed = Json.parse(end.get(end.size() - 1).data()).path("response");
        assertEquals("failed", failed.path("status").asText());
        assertEquals("cut", failed.path("error").path("message").asText());
    }
}
