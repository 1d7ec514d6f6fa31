package io.understudy.cli;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayServer;
import io.understudy.sim.ProviderSim;
import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code understudy diff} over real sockets: provider-sim straight, and through a relay in front of it. */
class DiffCommandTest {
    private static ProviderSim sim;
    private static RelayServer relay;

    @BeforeAll
    static void start() throws java.io.IOException {
        sim = ProviderSim.start(SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(1), 6));
        String yaml = """
                server: { host: 127.0.0.1, port: 0 }
                relay: { rehearsal: PT0S }
                providers:
                  - { name: sim, kind: openai, base-url: "%1$s/v1" }
                  - { name: sim-anthropic, kind: anthropic, base-url: "%1$s" }
                routes:
                  - model: "claude-*"
                    targets: [ { provider: sim-anthropic } ]
                  - model: "renamed"
                    targets: [ { provider: sim, model: "sim-small" } ]
                  - model: "*"
                    targets: [ { provider: sim } ]
                """.formatted(sim.baseUrl());
        relay = RelayServer.start(RelayConfig.from(Config.just(ConfigSources.create(yaml, MediaTypes.APPLICATION_X_YAML)), k -> null),
                new io.understudy.primary.PrimaryRole());
    }

    @AfterAll
    static void stop() {
        relay.close();
        sim.close();
    }

    private record Run(int exit, String out) {
    }

    private static Run diff(String request, String... more) throws Exception {
        Path file = Files.createTempFile("diff-request", ".json");
        try {
            Files.writeString(file, request);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            String[] args = new String[4 + more.length + 1];
            args[0] = "--direct";
            args[1] = sim.baseUrl() + "/v1";
            args[2] = "--through";
            args[3] = "http://127.0.0.1:" + relay.port() + "/v1";
            System.arraycopy(more, 0, args, 4, more.length);
            args[args.length - 1] = file.toString();
            int exit = new CommandLine(new DiffCommand(Map.of(), out)).execute(args);
            return new Run(exit, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void aRelayThatChangesNothingShowsNoDifferenceWholeOrStreamed() throws Exception {
        String whole = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"compare me\"}]}";
        Run a = diff(whole);
        assertEquals(0, a.exit(), a.out());
        assertTrue(a.out().contains("no difference"), a.out());
        Run b = diff(whole.replace("{\"model\"", "{\"stream\":true,\"model\""));
        assertEquals(0, b.exit(), b.out());
    }

    /** What a Messages client sends that chat has no words for: it must reach the provider as sent. */
    private static final String RICH_MESSAGES = """
            {"model":"claude-diff","max_tokens":300,%s
             "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
             "thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"u-42"},"stop_sequences":["END"],
             "tools":[{"name":"lookup","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"what does it say?","cache_control":{"type":"ephemeral"}}]},
               {"role":"assistant","content":[{"type":"thinking","thinking":"check","signature":"sig=="},
                                               {"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"fact"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"it is so"}]}]}
            """;

    /** Regression: a relay translated Messages to chat and back, and the provider counted fewer input tokens. */
    @Test
    void aRichAnthropicRequestThroughARelayShowsNoDifferenceWholeOrStreamed() throws Exception {
        Run whole = diff(RICH_MESSAGES.formatted(""), "--dialect", "anthropic");
        assertEquals(0, whole.exit(), whole.out());
        Run streamed = diff(RICH_MESSAGES.formatted("\"stream\":true,"), "--dialect", "anthropic");
        assertEquals(0, streamed.exit(), streamed.out());
    }

    @Test
    void aRouteThatRenamesTheModelIsReportedFieldByField() throws Exception {
        Run r = diff("{\"model\":\"renamed\",\"messages\":[{\"role\":\"user\",\"content\":\"compare me\"}]}");
        assertEquals(DiffCommand.DIFFERENT, r.exit(), r.out());
        assertTrue(r.out().contains("$.model: \"renamed\" direct, \"sim-small\" through"), r.out());
    }

    @Test
    void aBadDialectIsAOneLineErrorAndExitTwo() throws Exception {
        CommandLine cli = Main.commandLine();
        java.io.StringWriter err = new java.io.StringWriter();
        cli.setErr(new java.io.PrintWriter(err));
        int exit = cli.execute("diff", "--direct", "http://127.0.0.1:9/v1", "--through", "http://127.0.0.1:9/v1", "--dialect", "klingon", "nope.json");
        assertEquals(2, exit, err.toString());
        assertEquals("understudy: --dialect must be openai or anthropic, got 'klingon'", err.toString().strip());
    }
}
