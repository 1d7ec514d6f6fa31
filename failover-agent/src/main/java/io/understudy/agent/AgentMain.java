package io.understudy.agent;

import io.understudy.core.Lifecycle;

/**
 * Runs the agent until SIGTERM. Arguments: {@code CONFIG [PORT]}, CONFIG a YAML path or
 * {@code builtin:NAME}. Announces {@code understudy-agent listening port=N} on stdout.
 */
public final class AgentMain {
    private AgentMain() {
    }

    public static void main(String[] args) {
        io.understudy.core.LogFormat.oneLine();
        AgentConfig config = AgentConfig.load(args.length > 0 ? args[0] : "builtin:agent.yaml", System::getenv);
        if (args.length > 1) {
            config = config.withPort(Integer.parseInt(args[1]));
        }
        run(config);
    }

    public static void run(AgentConfig config) {
        AgentServer agent = AgentServer.start(config);
        Lifecycle.serveUntilShutdown("agent", agent.port(), agent);
    }
}
