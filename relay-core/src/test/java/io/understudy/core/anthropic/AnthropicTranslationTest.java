package io.understudy.core.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.sse.SseEvent;
import io.understudy.core.error.Origin;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.wire.StreamChunk;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnthropicTranslationTest {

    private static ObjectNode json(String text) throws IOException {
        return (ObjectNode) Json.parse(text);
    }

    @Test
    void openAiRequestBecomesAnthropicRequest() throws IOException {
        ChatRequest request = new ChatRequest(json("""
                {"model":"claude-x","max_tokens":50,"temperature":0.2,"stop":"END","user":"u1",
                 "messages":[
                   {"role":"system","content":"Be brief."},
                   {"role":"user","content":"Weather in Paris?"},
                   {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                      "function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                   {"role":"tool","tool_call_id":"call_1","content":"sunny"},
                   {"role":"user","content":"Thanks"}],
                 "tools":[{"type":"function","function":{"name":"weather","description":"d",
                    "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
                 "tool_choice":{"type":"function","function":{"name":"weather"}}}"""));
        ObjectNode out = AnthropicTranslation.toAnthropicRequest(request, "claude-x");
        assertEquals("Be brief.", out.path("system").asText());
        assertEquals(50, out.path("max_tokens").asInt());
        assertEquals("END", out.path("stop_sequences").path(0).asText());
        assertEquals("u1", out.path("metadata").path("user_id").asText());
        JsonNode messages = out.path("messages");
        // user, assistant(tool_use), user(tool_result + "Thanks" merged: roles must alternate)
        assertEquals(3, messages.size());
        assertEquals("tool_use", messages.path(1).path("content").path(0).path("type").asText());
        assertEquals("Paris", messages.path(1).path("content").path(0).path("input").path("city").asText());
        JsonNode lastUser = messages.path(2).path("content");
        assertEquals("tool_result", lastUser.path(0).path("type").asText());
        assertEquals("call_1", lastUser.path(0).path("tool_use_id").asText());
        assertEquals("Thanks", lastUser.path(1).path("text").asText());
        assertEquals("weather", out.path("tools").path(0).path("name").asText());
        assertEquals("object", out.path("tools").path(0).path("input_schema").path("type").asText());
        assertEquals("tool", out.path("tool_choice").path("type").asText());
    }

    @Test
    void anthropicResponseBecomesOpenAiResponse() throws IOException {
        ObjectNode message = json("""
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
                 "content":[{"type":"text","text":"Let me check."},
                            {"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}],
                 "stop_reason":"tool_use","usage":{"input_tokens":12,"output_tokens":7,"cache_read_input_tokens":3}}""");
        ObjectNode out = AnthropicTranslation.toOpenAiResponse(message, 1000);
        JsonNode choice = out.path("choices").path(0);
        assertEquals("Let me check.", choice.path("message").path("content").asText());
        assertEquals("tool_calls", choice.path("finish_reason").asText());
        assertEquals("{\"city\":\"Paris\"}", choice.path("message").path("tool_calls").path(0).path("function").path("arguments").asText());
        assertEquals(15, out.path("usage").path("prompt_tokens").asInt());
        assertEquals(7, out.path("usage").path("completion_tokens").asInt());
        assertEquals(22, out.path("usage").path("total_tokens").asInt());
    }

    @Test
    void anthropicRequestBecomesOpenAiRequestAndBack() throws IOException {
        MessagesRequest request = MessagesRequest.parse("""
                {"model":"gpt-x","max_tokens":20,"system":[{"type":"text","text":"Sys"}],"stream":true,
                 "messages":[{"role":"user","content":[{"type":"text","text":"hi"},
                     {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
                   {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},
                   {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"}]}],
                 "tool_choice":{"type":"any"},
                 "tools":[{"name":"f","input_schema":{"type":"object"}}]}""".getBytes(StandardCharsets.UTF_8));
        ObjectNode out = AnthropicTranslation.toOpenAiRequest(request);
        JsonNode messages = out.path("messages");
        assertEquals("system", messages.path(0).path("role").asText());
        assertEquals("Sys", messages.path(0).path("content").asText());
        assertEquals("data:image/png;base64,AAAA", messages.path(1).path("content").path(1).path("image_url").path("url").asText());
        assertEquals("f", messages.path(2).path("tool_calls").path(0).path("function").path("name").asText());
        assertEquals("tool", messages.path(3).path("role").asText());
        assertEquals("t1", messages.path(3).path("tool_call_id").asText());
        assertEquals("42", messages.path(3).path("content").asText());
        assertEquals("required", out.path("tool_choice").asText());
        assertTrue(out.path("stream_options").path("include_usage").asBoolean(), "streams ask for usage");

        ObjectNode completion = json("""
                {"id":"chatcmpl-9","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},
                 "finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}""");
        ObjectNode anthropic = AnthropicTranslation.toAnthropicResponse(completion);
        assertEquals("msg_9", anthropic.path("id").asText());
        assertEquals("max_tokens", anthropic.path("stop_reason").asText());
        assertEquals("ok", anthropic.path("content").path(0).path("text").asText());
        assertEquals(3, anthropic.path("usage").path("input_tokens").asInt());
    }

    @Test
    void anthropicStreamBecomesOpenAiChunksWithUsage() {
        AnthropicToOpenAiStream translator = new AnthropicToOpenAiStream("p", Origin.PROVIDER, 1);
        List<StreamChunk> chunks = new ArrayList<>();
        List<SseEvent> events = List.of(
                SseEvent.named("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}"),
                SseEvent.named("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
                SseEvent.named("ping", "{\"type\":\"ping\"}"),
                SseEvent.named("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}"),
                SseEvent.named("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}"),
                SseEvent.named("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"),
                SseEvent.named("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}"),
                SseEvent.named("message_stop", "{\"type\":\"message_stop\"}"));
        for (SseEvent e : events) {
            chunks.add(translator.translate(e));
        }
        assertEquals(events, chunks.stream().map(c -> c.upstreamEvent().orElseThrow().event()).toList(),
                "one chunk per event, each keeping the event it came from");
        assertEquals(3, chunks.stream().filter(StreamChunk::isCarrier).count(), "block start, ping and block stop mean nothing in chat");
        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.contentDelta()));
        assertEquals("Hello", text.toString());
        assertTrue(translator.finished());
        assertEquals("stop", chunks.get(chunks.size() - 2).finishReason().orElseThrow());
        StreamChunk last = chunks.get(chunks.size() - 1);
        assertTrue(last.isUsageOnly());
        assertEquals(5, last.usage().orElseThrow().promptTokens());
        assertEquals(2, last.usage().orElseThrow().completionTokens());
    }

    @Test
    void openAiChunksBecomeAnthropicEvents() throws IOException {
        OpenAiToAnthropicStream translator = new OpenAiToAnthropicStream("c");
        List<SseEvent> events = new ArrayList<>();
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"model\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"))));
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}"))));
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}"))));
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}]}"))));
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"))));
        events.addAll(translator.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}"))));
        events.addAll(translator.finish());
        List<String> names = events.stream().map(SseEvent::event).toList();
        assertEquals(List.of("message_start", "content_block_start", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop"), names);
        JsonNode delta = Json.parse(events.get(8).data());
        assertEquals("tool_use", delta.path("delta").path("stop_reason").asText());
        assertEquals(6, delta.path("usage").path("output_tokens").asInt());
        assertEquals("msg_1", Json.parse(events.get(0).data()).path("message").path("id").asText());
    }

    @Test
    void anthropicEventsPassOnAsTheyCameAndATranslatedTailContinuesTheOpenTextBlock() throws IOException {
        AnthropicToOpenAiStream reader = new AnthropicToOpenAiStream("relay-a", Origin.RELAY, 1);
        List<SseEvent> upstream = List.of(
                SseEvent.named("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_7\",\"model\":\"c\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}"),
                SseEvent.named("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}"),
                SseEvent.named("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}"),
                SseEvent.named("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"),
                SseEvent.named("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\",\"citations\":[]}}"),
                SseEvent.named("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}"));
        OpenAiToAnthropicStream client = new OpenAiToAnthropicStream("c");
        List<SseEvent> sent = new ArrayList<>();
        for (SseEvent e : upstream) {
            sent.addAll(client.accept(reader.translate(e)));
        }
        assertEquals(upstream, sent, "an Anthropic client receives the upstream's events untouched, thinking included");
        // the stream broke; its tail comes from another upstream, rewritten as chat chunks
        sent.clear();
        sent.addAll(client.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}"))));
        sent.addAll(client.accept(StreamChunk.of(json("{\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"))));
        sent.addAll(client.finish());
        assertEquals(List.of("content_block_delta", "content_block_stop", "message_delta", "message_stop"),
                sent.stream().map(SseEvent::event).toList(), "no second message_start, no new block");
        assertEquals(1, Json.parse(sent.get(0).data()).path("index").asInt(), "the tail goes on in the open text block");
        assertEquals(1, Json.parse(sent.get(1).data()).path("index").asInt());
    }
}
