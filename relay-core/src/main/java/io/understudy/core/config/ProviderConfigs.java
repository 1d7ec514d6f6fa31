package io.understudy.core.config;

import io.helidon.config.Config;
import io.understudy.core.Glob;
import io.understudy.core.pricing.Price;
import io.understudy.core.pricing.PriceTable;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
import io.understudy.core.provider.Secret;
import io.understudy.core.routing.Route;

import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** Reads the {@code providers:} and {@code prices:} sections shared by relays and agents. */
public final class ProviderConfigs {
    private ProviderConfigs() {
    }

    /**
     * A provider entry and whether it can be used. A provider whose key is named by
     * {@code api-key-env} or {@code api-key-file} but absent is disabled, not an error: the same
     * file serves machines with and without that key.
     */
    public record Entry(ProviderConfig config, Optional<String> disabledBecause) {
        public boolean enabled() {
            return disabledBecause.isEmpty();
        }
    }

    public static Map<String, Entry> providers(Config root, Function<String, String> env) {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Config p : ConfigReader.list(root, "providers")) {
            String name = ConfigReader.requireString(p, "name");
            if (out.containsKey(name)) {
                throw new ConfigError(ConfigReader.path(p, "name"), "provider '" + name + "' is defined twice");
            }
            ProviderKind kind;
            try {
                kind = ProviderKind.parse(ConfigReader.string(p, "kind", "openai"));
            } catch (IllegalArgumentException e) {
                throw new ConfigError(ConfigReader.path(p, "kind"), e.getMessage());
            }
            URI baseUrl;
            try {
                baseUrl = URI.create(ConfigReader.requireString(p, "base-url"));
            } catch (IllegalArgumentException e) {
                throw new ConfigError(ConfigReader.path(p, "base-url"), "is not a URL");
            }
            Optional<String> keyEnv = ConfigReader.string(p, "api-key-env");
            Optional<String> keyFile = ConfigReader.string(p, "api-key-file");
            Optional<Secret> key = Optional.empty();
            Optional<String> disabled = Optional.empty();
            if (keyFile.isPresent()) {
                key = readKeyFile(Path.of(keyFile.get()));
                if (key.isEmpty()) {
                    disabled = Optional.of("api-key-file " + keyFile.get() + " is missing or empty");
                }
            } else if (keyEnv.isPresent()) {
                String value = env.apply(keyEnv.get());
                if (value == null || value.isBlank()) {
                    disabled = Optional.of("environment variable " + keyEnv.get() + " is not set");
                } else {
                    key = Optional.of(new Secret(value.trim()));
                }
            }
            Duration connect = ConfigReader.duration(p, "connect-timeout", Duration.ofSeconds(2));
            Duration read = ConfigReader.duration(p, "read-timeout", Duration.ofSeconds(120));
            boolean responsesApi = ConfigReader.bool(p, "responses-api", true);
            Map<String, String> tags = ConfigReader.tags(p, "tags");
            try {
                out.put(name, new Entry(new ProviderConfig(name, kind, baseUrl, key, connect, read, responsesApi, tags), disabled));
            } catch (IllegalArgumentException e) {
                throw new ConfigError(ConfigReader.path(p, "base-url"), e.getMessage());
            }
        }
        return out;
    }

    /**
     * Reads {@code routes:}: model pattern -> targets, each naming a known provider, with an optional
     * {@code priority} (default: its position) and {@code weight} (default 1), and the route's {@code slo}.
     */
    public static List<Route> routes(Config root, Map<String, Entry> providers) {
        List<Route> routes = new ArrayList<>();
        for (Config r : ConfigReader.list(root, "routes")) {
            String model = ConfigReader.requireString(r, "model");
            List<Route.Target> targets = new ArrayList<>();
            int position = 0;
            for (Config t : ConfigReader.list(r, "targets")) {
                String provider = ConfigReader.requireString(t, "provider");
                if (!providers.containsKey(provider)) {
                    throw new ConfigError(ConfigReader.path(t, "provider"), "route '" + model
                            + "' names unknown provider '" + provider + "'");
                }
                targets.add(new Route.Target(provider, ConfigReader.string(t, "model"),
                        ConfigReader.integer(t, "priority", position, 0, 1000), ConfigReader.integer(t, "weight", 1, 1, 1000)));
                position++;
            }
            if (targets.isEmpty()) {
                throw new ConfigError(r.key().toString(), "route '" + model + "' needs at least one target");
            }
            routes.add(new Route(new Glob(model), targets, io.understudy.core.routing.Slo.from(r, model)));
        }
        return routes;
    }

    public static PriceTable prices(Config root) {
        List<PriceTable.Entry> entries = new ArrayList<>();
        for (Config p : ConfigReader.list(root, "prices")) {
            String provider = ConfigReader.requireString(p, "provider");
            String model = ConfigReader.string(p, "model", "*");
            BigDecimal in = ConfigReader.decimal(p, "input-per-million", null);
            BigDecimal out = ConfigReader.decimal(p, "output-per-million", null);
            if (in == null || out == null) {
                throw new ConfigError(p.key().toString(), "input-per-million and output-per-million are required");
            }
            try {
                entries.add(new PriceTable.Entry(provider, new Glob(model), new Price(in, out)));
            } catch (IllegalArgumentException e) {
                throw new ConfigError(p.key().toString(), e.getMessage());
            }
        }
        return new PriceTable(entries);
    }

    private static Optional<Secret> readKeyFile(Path path) {
        try {
            String value = Files.readString(path).trim();
            return value.isEmpty() ? Optional.empty() : Optional.of(new Secret(value));
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
    }
}
