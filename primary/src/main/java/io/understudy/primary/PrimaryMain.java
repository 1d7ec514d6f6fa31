package io.understudy.primary;

import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayMain;

/** Runs the primary relay until SIGTERM. Arguments: {@code CONFIG [PORT]} (CONFIG: a YAML path or {@code builtin:NAME}). */
public final class PrimaryMain {
    private PrimaryMain() {
    }

    public static void main(String[] args) {
        RelayMain.main(args, RelayConfig.Role.PRIMARY, config -> new PrimaryRole());
    }
}
