package io.understudy.core.pricing;

import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Objects;

/** USD per million tokens, input and output. */
public record Price(BigDecimal inputPerMillion, BigDecimal outputPerMillion) {
    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

    public Price {
        Objects.requireNonNull(inputPerMillion, "inputPerMillion");
        Objects.requireNonNull(outputPerMillion, "outputPerMillion");
        if (inputPerMillion.signum() < 0 || outputPerMillion.signum() < 0) {
            throw new IllegalArgumentException("prices cannot be negative");
        }
    }

    /** Cost of one answer in USD, exact to 10 decimal places. */
    public BigDecimal cost(Usage usage) {
        BigDecimal input = inputPerMillion.multiply(BigDecimal.valueOf(usage.promptTokens()));
        BigDecimal output = outputPerMillion.multiply(BigDecimal.valueOf(usage.completionTokens()));
        return input.add(output).divide(MILLION, MathContext.DECIMAL64).setScale(10, RoundingMode.HALF_UP)
                .stripTrailingZeros();
    }

    /** Compares how expensive two models are, by the sum of their input and output prices. */
    public BigDecimal weight() {
        return inputPerMillion.add(outputPerMillion);
    }
}
