package io.understudy.core.routing;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The meters and log lines of latency SLOs, named {@code <prefix>.slo.*} ({@code understudy.agent}
 * or {@code understudy.relay}), each tagged by upstream and SLO name (both come from config, so
 * they are bounded): the share of traffic the SLO leaves the upstream, whether it breaches, the
 * window's p99 first token, and the shifts of share away and back.
 */
public final class SloMetrics implements LiveTargets.Listener {
    private final MeterRegistry registry;
    private final String prefix;
    private final Logger log;

    public SloMetrics(MeterRegistry registry, String prefix, Logger log) {
        this.registry = registry;
        this.prefix = prefix;
        this.log = log;
    }

    @Override
    public void tracking(String upstream, String slo, Supplier<SloState> state) {
        Gauge.builder(prefix + ".slo.share", state, s -> s.get().share()).tag("upstream", upstream).tag("slo", slo)
                .register(registry);
        Gauge.builder(prefix + ".slo.breached", state, s -> s.get().breaching() ? 1 : 0).tag("upstream", upstream).tag("slo", slo)
                .register(registry);
        Gauge.builder(prefix + ".slo.p99.first.token", state, s -> s.get().p99Millis().isPresent()
                        ? s.get().p99Millis().getAsLong() / 1000.0 : Double.NaN)
                .baseUnit("seconds").tag("upstream", upstream).tag("slo", slo).register(registry);
    }

    @Override
    public void shifted(String upstream, Slo slo, SloState after, boolean away) {
        Counter.builder(prefix + ".slo.shifts").tag("upstream", upstream).tag("slo", slo.name())
                .tag("direction", away ? "away" : "back").register(registry).increment();
        log.info(() -> "slo '" + slo.name() + "' (" + slo.describe() + ") on " + upstream + ": " + after.reason());
    }
}
