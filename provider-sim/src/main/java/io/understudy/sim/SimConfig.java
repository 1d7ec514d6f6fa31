package io.understudy.sim;

import java.time.Duration;

/**
 * Simulator settings. Per-request headers override the timing: {@code x-sim-ttft-ms},
 * {@code x-sim-token-delay-ms}, {@code x-sim-tokens}.
 *
 * @param host            listen address (default 127.0.0.1)
 * @param port            listen port (default 8090; 0 picks a free one)
 * @param timeToFirstToken delay before the first token (default 20 ms)
 * @param interTokenDelay delay between tokens (default 10 ms)
 * @param answerTokens    tokens per answer (default 16)
 * @param slowFirstToken  first-token delay of the slow-first-token mode (default 5 s)
 * @param holdLimit       longest a blackhole or stall keeps a connection (default 10 min)
 */
public record SimConfig(String host, int port, Duration timeToFirstToken, Duration interTokenDelay, int answerTokens,
                        Duration slowFirstToken, Duration holdLimit) {
    public SimConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0-65535");
        }
        if (answerTokens < 1 || answerTokens > 100_000) {
            throw new IllegalArgumentException("answer-tokens must be 1-100000");
        }
        if (timeToFirstToken.isNegative() || interTokenDelay.isNegative() || slowFirstToken.isNegative()) {
            throw new IllegalArgumentException("delays cannot be negative");
        }
    }

    public static SimConfig defaults() {
        return new SimConfig("127.0.0.1", 8090, Duration.ofMillis(20), Duration.ofMillis(10), 16,
                Duration.ofSeconds(5), Duration.ofMinutes(10));
    }

    public SimConfig withPort(int newPort) {
        return new SimConfig(host, newPort, timeToFirstToken, interTokenDelay, answerTokens, slowFirstToken, holdLimit);
    }

    public SimConfig withTiming(Duration ttft, Duration delay, int tokens) {
        return new SimConfig(host, port, ttft, delay, tokens, slowFirstToken, holdLimit);
    }
}
