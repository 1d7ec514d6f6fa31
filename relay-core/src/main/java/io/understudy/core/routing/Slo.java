package io.understudy.core.routing;

import io.helidon.config.Config;
import io.understudy.core.config.ConfigError;
import io.understudy.core.config.ConfigReader;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;

/**
 * A latency objective declared for a route, a tier or a model ({@code slo:} in config): the p99 of
 * time to first token, measured over a sliding {@code window}, must stay within
 * {@code p99FirstToken}. An upstream that breaches it has its share of traffic among its peers cut
 * by {@code shift} every {@code shiftEvery} (down to {@link SloState#FLOOR}), and given back at the
 * same pace once it meets it with room to spare (see {@link SloState}).
 *
 * @param name          what it is called in metrics and /status (the route's or rule's model pattern, or the tier)
 * @param minSamples    first tokens in the window before it is judged at all
 */
public record Slo(String name, Duration p99FirstToken, Duration window, int minSamples, double shift, Duration shiftEvery) {
    public Slo {
        if (p99FirstToken.isNegative() || p99FirstToken.isZero()) {
            throw new IllegalArgumentException("p99-first-token must be positive");
        }
        if (shift <= 0 || shift > 1) {
            throw new IllegalArgumentException("shift must be in (0, 1]");
        }
    }

    /** The {@code slo:} section under {@code node}, if there is one. */
    public static Optional<Slo> from(Config node, String name) {
        Config s = node.get("slo");
        if (!s.exists()) {
            return Optional.empty();
        }
        Duration target = ConfigReader.duration(s, "p99-first-token", null);
        if (target == null || target.isZero()) {
            throw new ConfigError(ConfigReader.path(s, "p99-first-token"), "an slo needs a positive p99-first-token (e.g. PT2S)");
        }
        Duration window = ConfigReader.duration(s, "window", Duration.ofMinutes(1));
        Duration every = ConfigReader.duration(s, "shift-every", Duration.ofSeconds(5));
        if (window.compareTo(Duration.ofSeconds(1)) < 0 || every.compareTo(Duration.ofMillis(100)) < 0) {
            throw new ConfigError(ConfigReader.path(s, "window"), "window must be at least PT1S and shift-every at least PT0.1S");
        }
        double shift = ConfigReader.decimal(s, "shift", new BigDecimal("0.2")).doubleValue();
        try {
            return Optional.of(new Slo(name, target, window, ConfigReader.integer(s, "min-samples", 20, 1, 100_000), shift, every));
        } catch (IllegalArgumentException e) {
            throw new ConfigError(ConfigReader.path(s, "shift"), e.getMessage());
        }
    }

    public String describe() {
        return "p99 first token within " + p99FirstToken.toMillis() + " ms over " + window.toSeconds() + " s";
    }
}
