package io.understudy.core.pricing;

import io.understudy.core.Glob;
import io.understudy.core.wire.Usage;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PriceTableTest {
    private final PriceTable table = new PriceTable(List.of(
            new PriceTable.Entry("openai", new Glob("gpt-4o*"), new Price(new BigDecimal("2.50"), new BigDecimal("10.00"))),
            new PriceTable.Entry("openai", new Glob("gpt-4o-mini*"), new Price(new BigDecimal("0.15"), new BigDecimal("0.60")))));

    @Test
    void mostSpecificPatternWins() {
        assertEquals(new BigDecimal("0.15"), table.price("openai", "gpt-4o-mini-2024-07-18").orElseThrow().inputPerMillion());
        assertEquals(new BigDecimal("2.50"), table.price("openai", "gpt-4o").orElseThrow().inputPerMillion());
    }

    @Test
    void costIsExactPerToken() {
        // 1000 in * 0.15/M + 500 out * 0.60/M = 0.00015 + 0.0003
        assertEquals(0, new BigDecimal("0.00045").compareTo(
                table.cost("openai", "gpt-4o-mini", new Usage(1000, 500)).orElseThrow()));
    }

    @Test
    void unknownModelHasNoCostRatherThanAGuess() {
        assertEquals(Optional.empty(), table.cost("openai", "o3", new Usage(10, 10)));
        assertEquals(Optional.empty(), table.cost("anthropic", "gpt-4o", new Usage(10, 10)));
    }

    @Test
    void globMatchesWholeNames() {
        assertTrue(new Glob("claude-*").matches("claude-sonnet-4-5"));
        assertFalse(new Glob("claude-*").matches("my-claude-x"));
        assertTrue(new Glob("*").matches(""));
        assertTrue(new Glob("a*b*c").matches("aXXbYYc"));
        assertFalse(new Glob("a*b*c").matches("aXXbYY"));
        assertTrue(new Glob("exact").matches("exact"));
        assertFalse(new Glob("exact").matches("exactly"));
    }
}
