package io.understudy.cli;

import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayMain;
import io.understudy.standby.StandbyMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Optional;

/**
 * Rehearses a standby's request paths once, against a throwaway relay and an in-process provider
 * simulator, and exits: the training run of the relays' AOT cache ({@code bin/understudy} runs it
 * under {@code -XX:AOTCacheOutput} after each build). Calls no provider and touches no etcd.
 */
@Command(name = "rehearse", hidden = true, mixinStandardHelpOptions = true,
        description = "Rehearse a standby's request paths once and exit (the AOT cache's training run).")
final class RehearseCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", defaultValue = "builtin:standby.yaml", description = "relay config whose limits to rehearse with (default: ${DEFAULT-VALUE})")
    String config;

    @Option(names = "--seconds", defaultValue = "60", description = "upper bound; it ends sooner when the JIT has compiled the paths (default: ${DEFAULT-VALUE})")
    int seconds;

    @Override
    public void run() {
        if (seconds < 1) {
            throw new UserError("--seconds must be at least 1, got " + seconds);
        }
        RelayConfig relay = RelayMain.loader(config, RelayConfig.Role.STANDBY, Optional.of(0)).get();
        try {
            spec.commandLine().getOut().println("rehearsed " + RelayMain.rehearse(relay, StandbyMain.roleFor(relay),
                    Duration.ofSeconds(seconds)));
        } catch (IllegalStateException e) {
            throw new UserError(e.getMessage());
        }
    }
}
