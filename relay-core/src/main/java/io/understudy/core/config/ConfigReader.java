package io.understudy.core.config;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed reads from Helidon config with one-line errors naming the key. Durations are ISO-8601
 * ({@code PT1S}, {@code PT0.5S}); keys are kebab-case.
 */
public final class ConfigReader {
    private ConfigReader() {
    }

    /** Loads a YAML file, or the classpath resource when {@code file} is empty. */
    public static Config load(Optional<Path> file, String classpathDefault) {
        if (file.isPresent()) {
            Path path = file.get();
            if (!Files.isRegularFile(path)) {
                throw new ConfigError("", "config file not found: " + path);
            }
            return Config.just(ConfigSources.file(path));
        }
        return Config.just(ConfigSources.classpath(classpathDefault));
    }

    /** Loads {@code builtin:NAME} (a file of {@code config/} embedded in the jar) or a YAML file path. */
    public static Config loadSource(String source) {
        try {
            return source.startsWith("builtin:")
                    ? load(Optional.empty(), "understudy-config/" + source.substring("builtin:".length()))
                    : load(Optional.of(Path.of(source)), "");
        } catch (io.helidon.config.ConfigException e) {
            throw new ConfigError("", "cannot read " + source + ": " + e.getMessage());
        }
    }

    /** Loads {@code source} (see {@link #loadSource}) and reads it; a malformed tree is a one-line {@link ConfigError}. */
    public static <T> T read(String source, java.util.function.Function<Config, T> reader) {
        Config root = loadSource(source);
        try {
            return reader.apply(root);
        } catch (io.helidon.config.ConfigException e) {
            throw new ConfigError("", "cannot read " + source + ": " + e.getMessage());
        }
    }

    /** Keys from an inline list and from a comma-separated environment variable named by {@code envKey}. */
    public static List<io.understudy.core.provider.Secret> secrets(Config node, String listKey, String envKey,
                                                                   java.util.function.Function<String, String> env) {
        List<io.understudy.core.provider.Secret> keys = new java.util.ArrayList<>();
        strings(node, listKey).stream().filter(k -> !k.isBlank()).map(k -> new io.understudy.core.provider.Secret(k.trim()))
                .forEach(keys::add);
        string(node, envKey).map(env).ifPresent(value -> {
            for (String k : value.split(",")) {
                if (!k.isBlank()) {
                    keys.add(new io.understudy.core.provider.Secret(k.trim()));
                }
            }
        });
        return keys;
    }

    public static String string(Config node, String key, String fallback) {
        return node.get(key).asString().orElse(fallback);
    }

    public static Optional<String> string(Config node, String key) {
        return node.get(key).asString().asOptional().filter(s -> !s.isBlank());
    }

    public static String requireString(Config node, String key) {
        return string(node, key).orElseThrow(() -> new ConfigError(path(node, key), "is required"));
    }

    public static int integer(Config node, String key, int fallback, int min, int max) {
        Optional<String> raw = string(node, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(raw.get().trim());
            if (value < min || value > max) {
                throw new ConfigError(path(node, key), "must be between " + min + " and " + max + ", got " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new ConfigError(path(node, key), "must be a whole number, got '" + raw.get() + "'");
        }
    }

    public static long longValue(Config node, String key, long fallback, long min, long max) {
        Optional<String> raw = string(node, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            long value = Long.parseLong(raw.get().trim());
            if (value < min || value > max) {
                throw new ConfigError(path(node, key), "must be between " + min + " and " + max + ", got " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new ConfigError(path(node, key), "must be a whole number, got '" + raw.get() + "'");
        }
    }

    public static boolean bool(Config node, String key, boolean fallback) {
        Optional<String> raw = string(node, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        return switch (raw.get().trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new ConfigError(path(node, key), "must be true or false, got '" + raw.get() + "'");
        };
    }

    public static Duration duration(Config node, String key, Duration fallback) {
        Optional<String> raw = string(node, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            Duration d = Duration.parse(raw.get().trim());
            if (d.isNegative()) {
                throw new ConfigError(path(node, key), "must not be negative");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw new ConfigError(path(node, key), "must be an ISO-8601 duration such as PT1S or PT0.5S, got '" + raw.get() + "'");
        }
    }

    public static BigDecimal decimal(Config node, String key, BigDecimal fallback) {
        Optional<String> raw = string(node, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            return new BigDecimal(raw.get().trim());
        } catch (NumberFormatException e) {
            throw new ConfigError(path(node, key), "must be a decimal number, got '" + raw.get() + "'");
        }
    }

    public static List<Config> list(Config node, String key) {
        Config child = node.get(key);
        if (!child.exists() || emptyLeaf(child, key)) {
            return List.of();
        }
        return child.asNodeList().orElse(List.of());
    }

    public static List<String> strings(Config node, String key) {
        Config child = node.get(key);
        if (!child.exists() || emptyLeaf(child, key)) {
            return List.of();
        }
        return child.asList(String.class).orElse(List.of());
    }

    /**
     * A map of tag names to values ({@code tags: { region: eu, retention: zero }}), lower-cased;
     * names and values are lower case letters, digits and {@code _.-}.
     */
    public static Map<String, String> tags(Config node, String key) {
        Config child = node.get(key);
        if (!child.exists() || (child.isLeaf() && child.asString().orElse("").isBlank())) {
            return Map.of();
        }
        if (child.type() != Config.Type.OBJECT) {
            throw new ConfigError(path(node, key), "must be a map of tag names to values, e.g. { region: eu, retention: zero }");
        }
        Map<String, String> out = new java.util.TreeMap<>();
        for (Config tag : child.asNodeList().orElse(List.of())) {
            String name = tag.name().toLowerCase(java.util.Locale.ROOT);
            String value = tag.asString().orElse("").strip().toLowerCase(java.util.Locale.ROOT);
            if (!TAG_WORD.matcher(name).matches() || !TAG_WORD.matcher(value).matches()) {
                throw new ConfigError(tag.key().toString(), "tag names and values are lower case letters, digits, _ . - (got "
                        + name + ": " + value + ")");
            }
            out.put(name, value);
        }
        return Map.copyOf(out);
    }

    private static final java.util.regex.Pattern TAG_WORD = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9_.-]{0,31}");

    /** A key written with no value ({@code models:}) is an empty list; a single value where a list belongs is an error. */
    private static boolean emptyLeaf(Config child, String key) {
        if (!child.isLeaf()) {
            return false;
        }
        if (child.asString().orElse("").isBlank()) {
            return true;
        }
        throw new ConfigError(child.key().toString(), "must be a list (write [ " + child.asString().get() + " ] for one item)");
    }

    public static String path(Config node, String key) {
        String base = node.key().toString();
        return base.isEmpty() ? key : base + "." + key;
    }
}
