package io.understudy.agent;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceTool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official Anthropic Java SDK as a real client: Messages with tools, whole and streamed,
 * through agent -> relay -> provider-sim's Anthropic API, each answer compared with the same call
 * made straight to the provider.
 */
class AnthropicSdkTest {
    private static AgentHarness h;
    private static AnthropicClient direct;
    private static AnthropicClient through;

    @BeforeAll
    static void start() throws Exception {
        h = AgentHarness.standard();
        direct = client(h.sim.baseUrl());
        through = client(h.base());
    }

    private static AnthropicClient client(String baseUrl) {
        return AnthropicOkHttpClient.builder().baseUrl(baseUrl).apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
    }

    @AfterAll
    static void stop() {
        direct.close();
        through.close();
        h.close();
    }

    private static final Tool LOOKUP = Tool.builder().name("lookup").description("looks a fact up")
            .inputSchema(Tool.InputSchema.builder().properties(Tool.InputSchema.Properties.builder()
                    .putAdditionalProperty("q", JsonValue.from(Map.of("type", "string"))).build()).build())
            .build();

    private static MessageCreateParams.Builder params(String content) {
        return MessageCreateParams.builder().model("claude-sdk").maxTokens(200).system("You are terse.")
                .addUserMessage(content).addTool(LOOKUP);
    }

    /** What a client reads from a whole answer: each block's kind and text or tool call, the stop reason, the usage. */
    private static List<String> seen(Message m) {
        List<String> out = new ArrayList<>();
        out.add("id " + m.id());
        out.add("model " + m.model().asString());
        for (ContentBlock block : m.content()) {
            block.text().ifPresent(t -> out.add("text " + t.text()));
            block.toolUse().ifPresent(t -> out.add("tool_use " + t.id() + " " + t.name() + " " + t._input()));
        }
        out.add("stop " + m.stopReason().map(Object::toString).orElse("none"));
        out.add("usage " + m.usage().inputTokens() + "/" + m.usage().outputTokens());
        return out;
    }

    @Test
    void messagesWithToolsComeBackAsTheProviderSentThem() {
        Message viaAgent = through.messages().create(params("sdk tools").build());
        assertEquals(seen(direct.messages().create(params("sdk tools").build())), seen(viaAgent));
        assertTrue(viaAgent.content().get(0).text().isPresent(), "a tool offered, not forced: text");

        MessageCreateParams forced = params("sdk forced").toolChoice(ToolChoiceTool.builder().name("lookup").build()).build();
        Message toolCall = through.messages().create(forced);
        assertEquals(seen(direct.messages().create(forced)), seen(toolCall));
        assertEquals("lookup", toolCall.content().get(0).toolUse().orElseThrow().name());
    }

    /** What a client reads from a stream: each event's kind, with the text and tool input it carries. */
    private static List<String> seen(StreamResponse<RawMessageStreamEvent> stream) {
        List<String> out = new ArrayList<>();
        stream.stream().forEach(e -> {
            e.messageStart().ifPresent(s -> out.add("message_start " + s.message().id() + " " + s.message().usage().inputTokens()));
            e.contentBlockStart().ifPresent(s -> out.add("block_start " + s.index() + " " + s.contentBlock()._json()));
            e.contentBlockDelta().ifPresent(d -> out.add("delta " + d.index() + " " + d.delta()._json()));
            e.contentBlockStop().ifPresent(s -> out.add("block_stop " + s.index()));
            e.messageDelta().ifPresent(d -> out.add("message_delta " + d.delta().stopReason() + " " + d.usage().outputTokens()));
            if (e.isMessageStop()) {
                out.add("message_stop");
            }
        });
        return out;
    }

    @Test
    void streamedMessagesWithToolsComeBackAsTheProviderSentThem() {
        List<String> viaAgent;
        try (StreamResponse<RawMessageStreamEvent> s = through.messages().createStreaming(params("sdk stream").build())) {
            viaAgent = seen(s);
        }
        try (StreamResponse<RawMessageStreamEvent> s = direct.messages().createStreaming(params("sdk stream").build())) {
            assertEquals(seen(s), viaAgent);
        }
        assertEquals("message_stop", viaAgent.get(viaAgent.size() - 1));
        MessageCreateParams forced = params("sdk stream forced").toolChoice(ToolChoiceTool.builder().name("lookup").build()).build();
        List<String> toolViaAgent;
        try (StreamResponse<RawMessageStreamEvent> s = through.messages().createStreaming(forced)) {
            toolViaAgent = seen(s);
        }
        try (StreamResponse<RawMessageStreamEvent> s = direct.messages().createStreaming(forced)) {
            assertEquals(seen(s), toolViaAgent);
        }
        assertTrue(toolViaAgent.stream().anyMatch(l -> l.contains("tool_use")), toolViaAgent.toString());
    }
}
