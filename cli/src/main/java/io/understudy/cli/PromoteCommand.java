package io.understudy.cli;

import io.understudy.core.etcd.ClusterOps;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code understudy promote standby}: move leadership to the standby, gracefully or by force. */
@Command(name = "promote", mixinStandardHelpOptions = true,
        description = "Make the standby lead. Graceful: the primary drains and resigns. --force fences the primary (revokes its lease).")
final class PromoteCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions options;

    @Parameters(index = "0", description = "what to promote: standby")
    String what;

    @Option(names = "--reason", defaultValue = "operator request", description = "Why (kept in history)")
    String reason;

    @Option(names = "--force", description = "Fence the current leader by revoking its lease; works when it is frozen or unreachable")
    boolean force;

    @Option(names = "--timeout", defaultValue = "PT30S", description = "How long to wait for the new leader (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (!what.equals("standby")) {
            throw new UserError("only 'promote standby' exists; to move back use 'switchover --to primary'");
        }
        return move("promote", "standby", reason, force, options, timeout);
    }

    static int move(String action, String to, String reason, boolean force, ClusterOptions options, Duration timeout)
            throws InterruptedException {
        return options.run(cluster -> {
            String who = System.getProperty("user.name", "operator");
            ClusterOps.Result result = new ClusterOps(cluster, Clock.systemUTC())
                    .moveLeadership(action, to, reason, who, force, timeout);
            switch (result) {
                case ClusterOps.Done done -> {
                    System.out.println(done.message());
                    return 0;
                }
                case ClusterOps.Refused refused -> {
                    System.err.println("understudy: refused: " + refused.message());
                    return ClusterOptions.PRECONDITION_FAILED;
                }
                case ClusterOps.TimedOut timedOut -> {
                    System.err.println("understudy: " + timedOut.message());
                    return ClusterOptions.TIMED_OUT;
                }
            }
        });
    }
}
