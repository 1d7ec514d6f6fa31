package io.understudy.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code understudy switchover --to primary|standby}: the planned, graceful move. */
@Command(name = "switchover", mixinStandardHelpOptions = true,
        description = "Planned move of leadership (graceful: the leader drains and resigns), e.g. back to the primary.")
final class SwitchoverCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions options;

    @Option(names = "--to", required = true, description = "primary or standby")
    String to;

    @Option(names = "--reason", defaultValue = "planned switchover", description = "Why (kept in history)")
    String reason;

    @Option(names = "--timeout", defaultValue = "PT30S", description = "How long to wait for the new leader (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!to.equals("primary") && !to.equals("standby")) {
            throw new UserError("--to must be primary or standby, got '" + to + "'");
        }
        return PromoteCommand.move("switchover", to, reason, false, options, timeout);
    }
}
