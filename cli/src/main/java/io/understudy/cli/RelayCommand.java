package io.understudy.cli;

import io.understudy.relay.RelayConfig;
import io.understudy.primary.PrimaryRole;
import io.understudy.relay.RelayMain;
import io.understudy.standby.StandbyMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;


/** Runs one relay process until SIGTERM or Ctrl-C. */
@Command(name = "relay", mixinStandardHelpOptions = true, description = "Run a relay (primary or standby).")
final class RelayCommand implements Runnable {
    @Option(names = "--role", defaultValue = "primary", description = "primary or standby (default: ${DEFAULT-VALUE})")
    String role;

    @Option(names = "--config", description = "YAML config file, or builtin:NAME for a file of config/ (default: builtin:ROLE.yaml)")
    String config;

    @Option(names = "--port", description = "Override server.port (0 = any free port)")
    Integer port;

    @Override
    public void run() {
        RelayConfig.Role parsedRole = switch (role) {
            case "primary" -> RelayConfig.Role.PRIMARY;
            case "standby" -> RelayConfig.Role.STANDBY;
            default -> throw new UserError("--role must be primary or standby, got '" + role + "'");
        };
        String source = config == null ? "builtin:" + role + ".yaml" : config;
        java.util.function.Supplier<RelayConfig> load = RelayMain.loader(source, parsedRole, java.util.Optional.ofNullable(port));
        RelayConfig relayConfig = load.get();
        try {
            RelayMain.run(source, load, c -> switch (c.role()) {
                case PRIMARY -> new PrimaryRole();
                case STANDBY -> StandbyMain.roleFor(c);
            });
        } catch (RuntimeException e) {
            throw new UserError("cannot start the relay on " + relayConfig.host() + ":" + relayConfig.port() + ": "
                    + rootMessage(e));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
