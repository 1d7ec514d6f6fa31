package io.understudy.relay;

import io.understudy.core.Lifecycle;
import io.understudy.core.config.ConfigReloads;

import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs one relay of a role until SIGTERM: what {@code primary/}'s and {@code standby/}'s entry
 * points, and {@code bin/understudy relay}, call. Arguments of those entry points: {@code CONFIG
 * [PORT]}, where CONFIG is a YAML path or {@code builtin:NAME}. SIGHUP reloads CONFIG.
 */
public final class RelayMain {
    private RelayMain() {
    }

    /**
     * Loads CONFIG as a {@code role} relay, applies PORT if given, and runs it with the role object
     * {@code roleFor} makes from that configuration; exits 2 on a usage error.
     */
    public static void main(String[] args, RelayConfig.Role role, Function<RelayConfig, RelayRole> roleFor) {
        io.understudy.core.LogFormat.oneLine();
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: CONFIG [PORT]   (CONFIG: a YAML path or builtin:NAME)");
            System.exit(2);
        }
        run(args[0], loader(args[0], role, args.length > 1 ? Optional.of(Integer.parseInt(args[1])) : Optional.empty()), roleFor);
    }

    /** Reads {@code source} as a {@code role} relay, on {@code port} if given: at start and at every reload. */
    public static Supplier<RelayConfig> loader(String source, RelayConfig.Role role, Optional<Integer> port) {
        return () -> {
            RelayConfig config = RelayConfig.load(source, System::getenv).withRole(role);
            return port.map(config::withPort).orElse(config);
        };
    }

    /**
     * One rehearsal in the foreground (see {@link Rehearsal}), for {@code bound} at most, as a relay of
     * {@code config} and {@code role} would run it: the training run from which {@code bin/understudy}
     * writes the relays' AOT cache. Returns a line saying what it did; throws when a request failed.
     */
    public static String rehearse(RelayConfig config, RelayRole role, java.time.Duration bound) {
        Rehearsal.Result r = Rehearsal.run(config, role, bound, () -> false);
        String done = r.requests() + " requests in " + r.millis() + " ms (" + r.ended() + ")";
        if (r.failed() > 0 || r.requests() == 0) {
            throw new IllegalStateException("the rehearsal failed: " + done + "; " + r.failed() + " failed, the first: "
                    + r.firstFailure());
        }
        return done;
    }

    /**
     * Starts the relay on what {@code load} reads and its rehearsal, reloads on SIGHUP (and on a
     * change of {@code source} when its {@code reload.watch} is on), announces its port on stdout,
     * and blocks until the JVM shuts down.
     */
    public static void run(String source, Supplier<RelayConfig> load, Function<RelayConfig, RelayRole> roleFor) {
        RelayConfig config = load.get();
        ConfigReloads.Settings watch = ConfigReloads.settingsOf(source);
        RelayRole role = roleFor.apply(config);
        RelayServer relay = RelayServer.start(config, role);
        Rehearsal.inBackground(config, role, config.rehearsal(), relay::servedAny);
        ConfigReloads<RelayConfig> reloads = new ConfigReloads<>("relay", load, config, relay::reconfigure,
                java.time.Clock.systemUTC());
        relay.reportReloads(reloads);
        reloads.start(source, watch);
        Lifecycle.serveUntilShutdown("relay", relay.port(), () -> {
            reloads.close();
            relay.close();
        });
    }
}
