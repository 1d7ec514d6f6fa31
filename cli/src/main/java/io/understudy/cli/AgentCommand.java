package io.understudy.cli;

import io.understudy.agent.AgentConfig;
import io.understudy.agent.AgentMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the failover agent until SIGTERM or Ctrl-C. */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "Run the failover agent: the app's local endpoint (default http://127.0.0.1:4000/v1).")
final class AgentCommand implements Runnable {
    @Option(names = "--config", description = "YAML config file, or builtin:NAME for a file of config/ (default: builtin:agent.yaml)")
    String config;

    @Option(names = "--port", description = "Override server.port (0 = any free port)")
    Integer port;

    @Override
    public void run() {
        String source = config == null ? "builtin:agent.yaml" : config;
        java.util.function.Supplier<AgentConfig> load = AgentMain.loader(source, java.util.Optional.ofNullable(port));
        AgentConfig agentConfig = load.get();
        try {
            AgentMain.run(source, load);
        } catch (RuntimeException e) {
            throw new UserError("cannot start the agent on " + agentConfig.host() + ":" + agentConfig.port() + ": "
                    + RelayCommand.rootMessage(e));
        }
    }
}
