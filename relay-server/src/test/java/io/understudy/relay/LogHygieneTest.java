package io.understudy.relay;

import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Keys never reach the logs; prompts reach them only when log-prompts says so. */
class LogHygieneTest {
    private static final String PROVIDER_KEY = "sk-provider-SECRET-1234567890";
    private static final String CLIENT_KEY = "client-SECRET-0987654321";
    private static final String WRONG_KEY = "client-WRONG-5555";
    private static final String PROMPT = "PROMPT-MARKER-do-not-log";

    private static String yaml(boolean logPrompts) {
        return """
                server: { host: 127.0.0.1, port: 0 }
                relay:
                  log-prompts: %s
                  client-keys-env: TEST_CLIENT_KEYS
                providers:
                  - { name: sim, kind: openai, base-url: "${SIM}/v1", api-key-env: TEST_PROVIDER_KEY }
                  - { name: dead, kind: openai, base-url: "http://127.0.0.1:${DEAD}/v1", api-key-env: TEST_PROVIDER_KEY }
                routes:
                  - model: flaky
                    targets: [ { provider: dead }, { provider: sim } ]
                  - model: "*"
                    targets: [ { provider: sim } ]
                """.formatted(logPrompts);
    }

    private static String run(boolean logPrompts) throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        SimpleFormatter formatter = new SimpleFormatter();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                lines.add(formatter.format(record));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try (RelayHarness h = new RelayHarness(yaml(logPrompts),
                Map.of("TEST_PROVIDER_KEY", PROVIDER_KEY, "TEST_CLIENT_KEYS", "other," + CLIENT_KEY),
                SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ZERO, 4))) {
            String body = "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
            String auth = "Bearer " + CLIENT_KEY;
            assertEquals(200, h.post("/v1/chat/completions", body.formatted("m", false), "Authorization", auth).statusCode());
            assertEquals(200, h.post("/v1/chat/completions", body.formatted("m", true), "Authorization", auth).statusCode());
            assertEquals(200, h.post("/v1/chat/completions", body.formatted("flaky", false), "Authorization", auth).statusCode());
            assertEquals(400, h.post("/v1/chat/completions", body.formatted("sim-context-length", false), "Authorization", auth).statusCode());
            assertEquals(401, h.post("/v1/chat/completions", body.formatted("m", false), "Authorization", "Bearer " + WRONG_KEY).statusCode());
        } finally {
            root.removeHandler(capture);
        }
        return String.join("", lines);
    }

    @Test
    void keysAndPromptsStayOutOfTheLogs() throws Exception {
        String logs = run(false);
        assertTrue(logs.contains("outcome=ok"), "the relay does log each request: " + logs);
        assertTrue(logs.contains("dead failed (connect_refused) and is refusing connections; redirecting to provider sim"),
                "and why it moved to the next target: " + logs);
        assertFalse(logs.contains(PROVIDER_KEY), "provider key leaked");
        assertFalse(logs.contains(CLIENT_KEY), "client key leaked");
        assertFalse(logs.contains(WRONG_KEY), "presented key leaked");
        assertFalse(logs.contains(PROMPT), "prompt logged although log-prompts is off");
    }

    @Test
    void promptsAreLoggedOnlyWhenAsked() throws Exception {
        String logs = run(true);
        assertTrue(logs.contains(PROMPT));
        assertFalse(logs.contains(PROVIDER_KEY) || logs.contains(CLIENT_KEY));
    }
}
