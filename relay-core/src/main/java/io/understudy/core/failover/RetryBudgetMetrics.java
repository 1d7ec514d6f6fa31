package io.understudy.core.failover;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * A retry budget's meters, named {@code <prefix>.retry.budget.*} ({@code understudy.agent} or
 * {@code understudy.relay}): retries that spent budget, redirects that did not, refusals, and the
 * current window's retries and allowance.
 */
public record RetryBudgetMetrics(String prefix, RetryBudget budget) implements MeterBinder {
    @Override
    public void bindTo(MeterRegistry registry) {
        String name = prefix + ".retry.budget.";
        FunctionCounter.builder(name + "retries", budget, b -> b.snapshot().retriesTotal()).register(registry);
        FunctionCounter.builder(name + "redirects", budget, b -> b.snapshot().redirectsTotal()).register(registry);
        FunctionCounter.builder(name + "exhausted", budget, b -> b.snapshot().exhaustedTotal()).register(registry);
        Gauge.builder(name + "window.retries", budget, b -> b.snapshot().retries()).register(registry);
        Gauge.builder(name + "window.allowed", budget, b -> b.snapshot().allowed()).register(registry);
    }
}
