package io.understudy.core.failover;

import io.helidon.config.Config;
import io.understudy.core.config.ConfigError;
import io.understudy.core.config.ConfigReader;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * The failover engine's settings that the agent and the relay both read, each under its own
 * section ({@code agent.} or {@code relay.}): the retry budget and the circuit breakers.
 */
public final class FailoverSettings {
    private FailoverSettings() {
    }

    /** Retries allowed: {@code ratio} of the requests in {@code window}, plus {@code reservePerSecond} per second of it. */
    public record Budget(double ratio, int reservePerSecond, Duration window) {
    }

    /**
     * A whole upstream's circuit opens after {@code consecutiveFailures} in a row or at
     * {@code failureRatePercent} of at least {@code minimumCalls} in {@code period}; one model's after
     * {@code consecutiveFailures} in a row. Either stays open {@code openFor}.
     */
    public record Breaker(int consecutiveFailures, int failureRatePercent, int minimumCalls, Duration period,
                          Duration openFor, int successesToClose) {
    }

    /** Everything a relay's failover engine reads (the agent's are spread over its tiers). */
    public record Engine(Budget budget, Breaker breaker, FailoverPolicy.Retries retries, Duration maxRetryAfterWait) {
    }

    /**
     * {@code section.retry-budget}, {@code section.circuit-breaker}, {@code section.retries} and
     * {@code section.max-retry-after-wait} (default {@code maxRetryAfterWait}).
     */
    public static Engine engine(Config section, String path, Duration maxRetryAfterWait) {
        return new Engine(budget(section, path), breaker(section), retries(section.get("retries")),
                ConfigReader.duration(section, "max-retry-after-wait", maxRetryAfterWait));
    }

    /** {@code retries}: tries of the same upstream after a transient 500/502/503 ({@code same-upstream}, {@code backoff}). */
    public static FailoverPolicy.Retries retries(Config retries) {
        FailoverPolicy.Retries r = new FailoverPolicy.Retries(ConfigReader.integer(retries, "same-upstream", 1, 0, 3),
                ConfigReader.duration(retries, "backoff", Duration.ofMillis(100)));
        if (r.backoff().toMillis() > 10_000) {
            throw new ConfigError(ConfigReader.path(retries, "backoff"), "must be at most PT10S");
        }
        return r;
    }

    /** {@code section.retry-budget}, e.g. {@code agent.retry-budget}; {@code path} names the section in errors. */
    public static Budget budget(Config section, String path) {
        Config budget = section.get("retry-budget");
        Budget b = new Budget(ConfigReader.decimal(budget, "ratio", new BigDecimal("0.2")).doubleValue(),
                ConfigReader.integer(budget, "reserve-per-second", 10, 0, 100_000),
                ConfigReader.duration(budget, "window", Duration.ofSeconds(10)));
        if (budget.get("min-retries").exists()) {
            throw new ConfigError(path + ".retry-budget.min-retries",
                    "replaced by reserve-per-second (retries per second always allowed on top of the ratio; default 10)");
        }
        if (b.ratio() < 0 || b.ratio() > 10) {
            throw new ConfigError(path + ".retry-budget.ratio", "must be between 0 and 10");
        }
        if (b.window().toMillis() < 1000) {
            throw new ConfigError(path + ".retry-budget.window", "must be at least PT1S");
        }
        return b;
    }

    /** {@code section.circuit-breaker}. */
    public static Breaker breaker(Config section) {
        Config cb = section.get("circuit-breaker");
        return new Breaker(ConfigReader.integer(cb, "consecutive-failures", 3, 1, 1000),
                ConfigReader.integer(cb, "failure-rate-percent", 50, 1, 100),
                ConfigReader.integer(cb, "minimum-calls", 10, 1, 100_000),
                ConfigReader.duration(cb, "period", Duration.ofSeconds(10)),
                ConfigReader.duration(cb, "open-for", Duration.ofSeconds(5)),
                ConfigReader.integer(cb, "successes-to-close", 2, 1, 1000));
    }
}
