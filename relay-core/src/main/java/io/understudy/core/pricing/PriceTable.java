package io.understudy.core.pricing;

import io.understudy.core.Glob;
import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Prices per provider and model pattern; the most specific matching entry wins. */
public record PriceTable(List<Entry> entries) {
    public PriceTable {
        entries = List.copyOf(entries);
    }

    public static PriceTable empty() {
        return new PriceTable(List.of());
    }

    public Optional<Price> price(String provider, String model) {
        return entries.stream()
                .filter(e -> e.provider().equals(provider) && e.model().matches(model))
                .max(Comparator.comparingInt(e -> e.model().specificity()))
                .map(Entry::price);
    }

    /** The price of a model from whichever provider lists it (most specific pattern wins). */
    public Optional<Price> priceForModel(String model) {
        return entries.stream()
                .filter(e -> e.model().matches(model))
                .max(Comparator.comparingInt(e -> e.model().specificity()))
                .map(Entry::price);
    }

    /** Cost in USD, or empty when no price is known (never guess a price). */
    public Optional<BigDecimal> cost(String provider, String model, Usage usage) {
        return price(provider, model).map(p -> p.cost(usage));
    }

    public record Entry(String provider, Glob model, Price price) {
        public Entry {
            Objects.requireNonNull(provider, "provider");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(price, "price");
        }
    }
}
