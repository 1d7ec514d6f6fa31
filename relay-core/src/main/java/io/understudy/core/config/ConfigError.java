package io.understudy.core.config;

/** A configuration problem, with the key it concerns: reported in one line and the process exits. */
public final class ConfigError extends RuntimeException {
    public ConfigError(String key, String problem) {
        super(key.isEmpty() ? problem : key + ": " + problem, null, false, false);
    }
}
