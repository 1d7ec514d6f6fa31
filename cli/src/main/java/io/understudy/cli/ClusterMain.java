package io.understudy.cli;

import picocli.CommandLine;

import java.util.Arrays;

/**
 * The operator commands alone ({@code status}, {@code promote}, {@code switchover},
 * {@code history}): {@code bin/understudy} starts this entry point for them, so a command loads
 * only what it uses (one command's model, no server, no gRPC) and answers in a fraction of a
 * second. The same commands are subcommands of {@link Main}, which lists them in its help;
 * anything else goes to {@link Main}.
 */
public final class ClusterMain {
    private ClusterMain() {
    }

    public static void main(String[] args) {
        Object command = args.length == 0 ? null : switch (args[0]) {
            case "status" -> new StatusCommand();
            case "promote" -> new PromoteCommand();
            case "switchover" -> new SwitchoverCommand();
            case "history" -> new HistoryCommand();
            default -> null;
        };
        if (command == null) {
            Main.main(args);
            return;
        }
        Logging.quiet();
        CommandLine cli = new CommandLine(command).setCommandName("understudy " + args[0]);
        cli.setExecutionExceptionHandler(Main::handleError);
        System.exit(cli.execute(Arrays.copyOfRange(args, 1, args.length)));
    }
}
