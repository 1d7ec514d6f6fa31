package io.understudy.core.config;

/** A configuration problem, with the key it concerns: reported in one line and the process exits. */
public final class ConfigError extends RuntimeException {
    private final String key;

    public ConfigError(String key, String problem) {
        super(key.isEmpty() ? problem : key + ": " + problem, null, false, false);
        this.key = key;
    }

    /** The offending key, dotted ({@code tiers.0.probe.timeout}); empty when the problem is the file itself. */
    public String key() {
        return key;
    }
}
