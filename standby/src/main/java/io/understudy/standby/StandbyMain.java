package io.understudy.standby;

import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayMain;

import java.time.Duration;

/** Runs the standby relay until SIGTERM. Arguments: {@code CONFIG [PORT]} (CONFIG: a YAML path or {@code builtin:NAME}). */
public final class StandbyMain {
    private StandbyMain() {
    }

    public static void main(String[] args) {
        RelayMain.main(args, RelayConfig.Role.STANDBY, StandbyMain::roleFor);
    }

    /** The standby's role for {@code config}: its settle grace follows the lease TTL (5 s without etcd). */
    public static StandbyRole roleFor(RelayConfig config) {
        return new StandbyRole(config.etcd().map(e -> e.leaseTtl()).orElse(Duration.ofSeconds(5)));
    }
}
