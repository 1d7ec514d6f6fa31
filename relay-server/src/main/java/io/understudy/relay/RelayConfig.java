package io.understudy.relay;

import io.helidon.config.Config;
import io.understudy.core.config.ConfigError;
import io.understudy.core.config.ConfigReader;
import io.understudy.core.failover.FailoverSettings;
import io.understudy.core.config.ProviderConfigs;
import io.understudy.core.pricing.PriceTable;
import io.understudy.core.provider.Secret;
import io.understudy.core.routing.Route;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Everything a relay needs, validated once at start and frozen. Defaults are documented in
 * {@code config/primary.yaml}.
 *
 * @param host          listen address (default 127.0.0.1)
 * @param port          listen port (default 8081; 0 picks a free one)
 * @param role          primary or standby
 * @param maxBodyBytes  largest request body accepted (default 8 MiB; larger gets 413)
 * @param logPrompts    log request and answer bodies (default false: never)
 * @param clientKeys    bearer keys callers must present; empty = no authentication
 * @param providers     upstreams by name, with whether each is usable
 * @param routes        model pattern -> ordered targets; the first matching route wins
 * @param prices        provider prices per million tokens
 * @param feePercent    relay fee added to the provider cost in receipts (default 0)
 * @param receiptsKept  how many recent receipts are kept for lookup (default 10000)
 * @param instance      this relay's name in etcd and in agents' configs (default: ROLE-1)
 * @param advertiseUrl  the base URL agents reach it at (default http://HOST:PORT/v1)
 * @param etcd          where leadership lives; empty = no leadership (static tiers only)
 * @param drainBound    longest wait for requests in flight before resigning leadership (default 10 s)
 * @param failover      the retry budget, circuits and same-provider retries of its provider failover
 * @param rehearsal     the longest the process rehearses its request paths after it starts (default 60 s; 0: not
 *                      at all), so that its first real requests run compiled code (see {@link Rehearsal})
 * @param tracing       whether and where to export spans: the standard OTEL_* variables (off unless an exporter is named)
 * @param maxConcurrentRequests requests served at once, past which a request gets 503 {@code overloaded}; 0: what the
 *                      heap holds (see {@link io.understudy.core.server.Admission#limitForHeap})
 */
public record RelayConfig(String host, int port, Role role, long maxBodyBytes, boolean logPrompts,
                          List<Secret> clientKeys, Map<String, ProviderConfigs.Entry> providers, List<Route> routes,
                          PriceTable prices, BigDecimal feePercent, int receiptsKept, String instance,
                          java.util.Optional<String> advertiseUrl, java.util.Optional<io.understudy.core.etcd.EtcdSettings> etcd,
                          java.time.Duration drainBound, FailoverSettings.Engine failover, java.time.Duration rehearsal,
                          io.understudy.core.tracing.TracingSettings tracing, int maxConcurrentRequests) {

    public enum Role {
        PRIMARY, STANDBY;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public RelayConfig {
        clientKeys = List.copyOf(clientKeys);
        providers = Map.copyOf(providers);
        routes = List.copyOf(routes);
        if (port < 0 || port > 65535) {
            throw new ConfigError("server.port", "must be 0-65535");
        }
        if (routes.isEmpty()) {
            throw new ConfigError("routes", "at least one route is required");
        }
    }

    public RelayConfig withPort(int newPort) {
        return new RelayConfig(host, newPort, role, maxBodyBytes, logPrompts, clientKeys, providers, routes, prices,
                feePercent, receiptsKept, instance, advertiseUrl, etcd, drainBound, failover, rehearsal, tracing,
                maxConcurrentRequests);
    }

    /**
     * This configuration with {@code running}'s values for the keys a reload cannot change (see
     * {@code RelayServer.RESTART_ONLY}): listener, role, instance, etcd, drain bound, retry budget,
     * rehearsal, receipts kept, tracing and the concurrent request limit.
     */
    public RelayConfig keepingRestartOnly(RelayConfig running) {
        FailoverSettings.Engine engine = new FailoverSettings.Engine(running.failover.budget(), failover.breaker(),
                failover.retries(), failover.maxRetryAfterWait());
        return new RelayConfig(running.host, running.port, running.role, maxBodyBytes, logPrompts, clientKeys, providers, routes,
                prices, feePercent, running.receiptsKept, running.instance, running.advertiseUrl, running.etcd,
                running.drainBound, engine, running.rehearsal, running.tracing, running.maxConcurrentRequests);
    }

    /** A new role also renames a default-named instance (primary-1 -> standby-1). */
    public RelayConfig withRole(Role newRole) {
        String name = instance.equals(role.wireName() + "-1") ? newRole.wireName() + "-1" : instance;
        return new RelayConfig(host, port, newRole, maxBodyBytes, logPrompts, clientKeys, providers, routes, prices,
                feePercent, receiptsKept, name, advertiseUrl, etcd, drainBound, failover, rehearsal, tracing,
                maxConcurrentRequests);
    }


    /**
     * Loads {@code builtin:NAME} (a file of {@code config/} embedded in the jar) or a YAML file path.
     */
    public static RelayConfig load(String source, Function<String, String> env) {
        return ConfigReader.read(source, root -> from(root, env));
    }

    /** Reads a relay config tree; {@code env} resolves environment variables (tests pass a map). */
    public static RelayConfig from(Config root, Function<String, String> env) {
        Config server = root.get("server");
        Config relay = root.get("relay");
        String host = ConfigReader.string(server, "host", "127.0.0.1");
        int port = ConfigReader.integer(server, "port", 8081, 0, 65535);
        Role role = switch (ConfigReader.string(relay, "role", "primary")) {
            case "primary" -> Role.PRIMARY;
            case "standby" -> Role.STANDBY;
            default -> throw new ConfigError("relay.role", "must be primary or standby");
        };
        long maxBody = ConfigReader.longValue(relay, "max-body-size", 8L * 1024 * 1024, 1024, 1024L * 1024 * 1024);
        boolean logPrompts = ConfigReader.bool(relay, "log-prompts", false);
        List<Secret> keys = ConfigReader.secrets(relay, "client-keys", "client-keys-env", env);
        Map<String, ProviderConfigs.Entry> providers = ProviderConfigs.providers(root, env);
        List<Route> routes = ProviderConfigs.routes(root, providers);
        BigDecimal fee = ConfigReader.decimal(relay, "fee-percent", BigDecimal.ZERO);
        if (fee.signum() < 0 || fee.compareTo(BigDecimal.valueOf(1000)) > 0) {
            throw new ConfigError("relay.fee-percent", "must be between 0 and 1000");
        }
        int receipts = ConfigReader.integer(relay, "receipts-kept", 10_000, 0, 10_000_000);
        return new RelayConfig(host, port, role, maxBody, logPrompts, keys, providers, routes,
                ProviderConfigs.prices(root), fee, receipts,
                ConfigReader.string(relay, "instance", role.wireName() + "-1"),
                ConfigReader.string(relay, "advertise-url"),
                io.understudy.core.etcd.EtcdSettings.from(root, env),
                ConfigReader.duration(relay, "drain-bound", java.time.Duration.ofSeconds(10)),
                // a relay passes a Retry-After on at once: its callers (the agent) wait it out, not both
                FailoverSettings.engine(relay, "relay", java.time.Duration.ZERO),
                ConfigReader.duration(relay, "rehearsal", java.time.Duration.ofSeconds(60)),
                io.understudy.core.tracing.TracingSettings.from(env),
                ConfigReader.integer(server, "max-concurrent-requests", 0, 0, 1_000_000));
    }
}
