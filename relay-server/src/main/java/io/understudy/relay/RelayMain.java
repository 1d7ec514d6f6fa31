package io.understudy.relay;

import io.understudy.core.Lifecycle;

/**
 * Runs one relay of a role until SIGTERM: what {@code primary/}'s and {@code standby/}'s entry
 * points, and {@code bin/understudy relay}, call. Arguments of those entry points: {@code CONFIG
 * [PORT]}, where CONFIG is a YAML path or {@code builtin:NAME}.
 */
public final class RelayMain {
    private RelayMain() {
    }

    /**
     * Loads CONFIG as a {@code role} relay, applies PORT if given, and runs it with the role object
     * {@code roleFor} makes from that configuration; exits 2 on a usage error.
     */
    public static void main(String[] args, RelayConfig.Role role, java.util.function.Function<RelayConfig, RelayRole> roleFor) {
        io.understudy.core.LogFormat.oneLine();
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: CONFIG [PORT]   (CONFIG: a YAML path or builtin:NAME)");
            System.exit(2);
        }
        RelayConfig config = RelayConfig.load(args[0], System::getenv).withRole(role);
        if (args.length > 1) {
            config = config.withPort(Integer.parseInt(args[1]));
        }
        run(config, roleFor.apply(config));
    }

    /** Starts the relay and its rehearsal, announces its port on stdout, and blocks until the JVM shuts down. */
    public static void run(RelayConfig config, RelayRole role) {
        RelayServer relay = RelayServer.start(config, role);
        Rehearsal.inBackground(config, role, config.rehearsal(), relay::servedAny);
        Lifecycle.serveUntilShutdown("relay", relay.port(), relay);
    }
}
