package io.understudy.cli;

import io.understudy.sim.SimMain;
import io.understudy.sim.SimConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.time.Duration;

/** Runs the simulated provider until SIGTERM or Ctrl-C. */
@Command(name = "sim", mixinStandardHelpOptions = true,
        description = "Run provider-sim: a simulated OpenAI/Anthropic provider with fault modes.")
final class SimCommand implements Runnable {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Listen address (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8090", description = "Listen port, 0 = any free (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--ttft-ms", defaultValue = "20", description = "Time to first token in ms (default: ${DEFAULT-VALUE})")
    long ttftMillis;

    @Option(names = "--token-delay-ms", defaultValue = "10", description = "Delay between tokens in ms (default: ${DEFAULT-VALUE})")
    long tokenDelayMillis;

    @Option(names = "--tokens", defaultValue = "16", description = "Tokens per answer (default: ${DEFAULT-VALUE})")
    int tokens;

    @Override
    public void run() {
        SimConfig defaults = SimConfig.defaults();
        SimConfig config = new SimConfig(host, port, Duration.ofMillis(ttftMillis), Duration.ofMillis(tokenDelayMillis),
                tokens, defaults.slowFirstToken(), defaults.holdLimit());
        try {
            SimMain.run(config);
        } catch (IOException e) {
            throw new UserError("cannot start provider-sim on " + host + ":" + port + ": " + e.getMessage());
        }
    }
}
