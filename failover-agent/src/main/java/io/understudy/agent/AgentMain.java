package io.understudy.agent;

import io.understudy.core.Lifecycle;
import io.understudy.core.config.ConfigReloads;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Runs the agent until SIGTERM. Arguments: {@code CONFIG [PORT]}, CONFIG a YAML path or
 * {@code builtin:NAME}. Announces {@code understudy-agent listening port=N} on stdout. SIGHUP
 * reloads CONFIG.
 */
public final class AgentMain {
    private AgentMain() {
    }

    public static void main(String[] args) {
        io.understudy.core.LogFormat.oneLine();
        String source = args.length > 0 ? args[0] : "builtin:agent.yaml";
        run(source, loader(source, args.length > 1 ? Optional.of(Integer.parseInt(args[1])) : Optional.empty()));
    }

    /** Reads {@code source}, on {@code port} if given: at start and at every reload. */
    public static Supplier<AgentConfig> loader(String source, Optional<Integer> port) {
        return () -> {
            AgentConfig config = AgentConfig.load(source, System::getenv);
            return port.map(config::withPort).orElse(config);
        };
    }

    /**
     * Starts the agent on what {@code load} reads, reloads on SIGHUP (and on a change of {@code source}
     * when its {@code reload.watch} is on), and blocks until the JVM shuts down.
     */
    public static void run(String source, Supplier<AgentConfig> load) {
        AgentConfig config = load.get();
        ConfigReloads.Settings watch = ConfigReloads.settingsOf(source);
        AgentServer agent = AgentServer.start(config);
        ConfigReloads<AgentConfig> reloads = new ConfigReloads<>("agent", load, config, agent::reconfigure,
                java.time.Clock.systemUTC());
        agent.reportReloads(reloads);
        reloads.start(source, watch);
        Lifecycle.serveUntilShutdown("agent", agent.port(), () -> {
            reloads.close();
            agent.close();
        });
    }
}
