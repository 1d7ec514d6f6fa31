package io.understudy.relay;

import io.understudy.core.Lifecycle;

/**
 * Runs one relay until SIGTERM. Used by {@code bin/understudy relay} and by tests that need a relay
 * as a real process. Arguments: {@code CONFIG [primary|standby] [PORT]}, where CONFIG is a YAML
 * path or {@code builtin:NAME}.
 */
public final class RelayMain {
    private RelayMain() {
    }

    public static void main(String[] args) {
        io.understudy.core.LogFormat.oneLine();
        if (args.length < 1) {
            System.err.println("usage: RelayMain CONFIG [primary|standby] [PORT]");
            System.exit(2);
        }
        RelayConfig config = RelayConfig.load(args[0], System::getenv);
        if (args.length > 1) {
            config = config.withRole(switch (args[1]) {
                case "primary" -> RelayConfig.Role.PRIMARY;
                case "standby" -> RelayConfig.Role.STANDBY;
                default -> throw new IllegalArgumentException("role must be primary or standby, got '" + args[1] + "'");
            });
        }
        if (args.length > 2) {
            config = config.withPort(Integer.parseInt(args[2]));
        }
        run(config);
    }

    /** Starts the relay and its rehearsal, announces its port on stdout, and blocks until the JVM shuts down. */
    public static void run(RelayConfig config) {
        RelayServer relay = RelayServer.start(config);
        Rehearsal.inBackground(config, config.rehearsal(), relay::servedAny);
        Lifecycle.serveUntilShutdown("relay", relay.port(), relay);
    }
}
