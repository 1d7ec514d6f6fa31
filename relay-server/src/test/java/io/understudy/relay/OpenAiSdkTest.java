package io.understudy.relay;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK as a real client of the relay. */
class OpenAiSdkTest {
    private static RelayHarness h;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.standard();
        client = OpenAIOkHttpClient.builder().baseUrl(h.base() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        h.close();
    }

    private static ChatCompletionCreateParams params(String model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("hello from the SDK").build();
    }

    @Test
    void nonStreaming() {
        ChatCompletion completion = client.chat().completions().create(params("gpt-4o-mini"));
        String text = completion.choices().get(0).message().content().orElseThrow();
        assertEquals(8, text.split(" ").length);
        assertEquals(8L, completion.usage().orElseThrow().completionTokens());
    }

    @Test
    void streaming() {
        String whole = client.chat().completions().create(params("gpt-4o-mini")).choices().get(0).message().content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params("gpt-4o-mini"))) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
        }
        assertEquals(whole, streamed.toString());
    }

    @Test
    void anthropicProviderThroughTheSdk() {
        ChatCompletion completion = client.chat().completions().create(params("claude-sonnet-4-5"));
        assertTrue(completion.choices().get(0).message().content().orElseThrow().endsWith("."));
    }

    @Test
    void clientErrorsSurfaceAsSdkExceptions() {
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(params("sim-context-length")));
        assertEquals(400, e.statusCode());
    }
}
