package io.understudy.cli;

import io.understudy.core.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/understudy}: one launcher for every Understudy process and the operator commands. */
@Command(name = "understudy", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Two-tier failover appliance for AI API relays.",
        subcommands = {UpCommand.class, RelayCommand.class, AgentCommand.class, SimCommand.class, StatusCommand.class,
                PromoteCommand.class, SwitchoverCommand.class, HistoryCommand.class, DiffCommand.class, DrillCommand.class, RehearseCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        Logging.configure();
        System.exit(commandLine().execute(args));
    }

    /** The command line with its error handling: what {@code main} runs, and what tests run. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::handleError);
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Errors a user can fix get one line and exit code 2; anything else is a bug (exit 1). */
    static int handleError(Exception e, CommandLine cli, CommandLine.ParseResult parse) {
        if (e instanceof UserError || e instanceof io.understudy.core.config.ConfigError
                || e instanceof IllegalArgumentException) {
            cli.getErr().println("understudy: " + e.getMessage());
            return 2;
        }
        cli.getErr().println("understudy: unexpected error: " + e);
        java.util.logging.Logger.getLogger(Main.class.getName()).log(java.util.logging.Level.SEVERE, "unexpected error", e);
        return 1;
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"understudy " + Version.current() + " (Java " + Runtime.version() + ")"};
        }
    }
}
