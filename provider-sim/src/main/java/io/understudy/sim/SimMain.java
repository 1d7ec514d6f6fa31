package io.understudy.sim;

import java.io.IOException;
import java.time.Duration;
import io.understudy.core.Lifecycle;

/**
 * Runs provider-sim until SIGTERM. Arguments: {@code [PORT [TTFT_MS TOKEN_DELAY_MS TOKENS]]}.
 * Announces {@code understudy-sim listening port=N} on stdout.
 */
public final class SimMain {
    private SimMain() {
    }

    public static void main(String[] args) throws IOException {
        io.understudy.core.LogFormat.oneLine();
        SimConfig config = SimConfig.defaults().withPort(args.length > 0 ? Integer.parseInt(args[0]) : 8090);
        if (args.length > 3) {
            config = config.withTiming(Duration.ofMillis(Long.parseLong(args[1])), Duration.ofMillis(Long.parseLong(args[2])),
                    Integer.parseInt(args[3]));
        }
        run(config);
    }

    public static void run(SimConfig config) throws IOException {
        ProviderSim sim = ProviderSim.start(config);
        Lifecycle.serveUntilShutdown("sim", sim.port(), sim);
    }
}
