package io.understudy.agent;

import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.UpstreamCircuits;
import io.understudy.core.failover.ProviderLimits;
import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.Provider;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.provider.ProviderKind;
import io.understudy.core.routing.ModelCatalog;
import io.understudy.core.routing.Requirement;
import io.understudy.core.routing.LiveTargets;
import io.understudy.core.routing.Router;
import io.understudy.core.routing.Slo;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Every upstream of one agent configuration, with its probes. A reload builds a new one from the
 * previous: an upstream whose definition (address, keys, timeouts, probe, breaker) did not change
 * is handed over as it is, with its health, circuits, latency and probe, so a reload forgets
 * nothing about it; learnt provider limits, the operator's avoidances and the host's lag carry
 * over too. {@link #retire} then stops the probes of the upstreams the new one did not take.
 */
final class Upstreams implements AutoCloseable {
    /** A direct provider with no request for this long is quiet: probed less often (see HealthProber). */
    private static final java.time.Duration QUIET_AFTER = java.time.Duration.ofMinutes(1);
    private final Map<String, Upstream> byName = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Upstream> relays = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, HealthProber> probers = new java.util.concurrent.ConcurrentHashMap<>();
    /** What each upstream was built from: equal definitions across a reload mean the same upstream. */
    private final Map<String, Object> definitions = new java.util.concurrent.ConcurrentHashMap<>();
    /** The configuration this one replaces, until {@link #handOverDone}: not held longer, or reloads would chain them all. */
    private volatile Optional<Upstreams> previous;
    /** The latest configuration's upstreams: what a probe compares its upstream with (see {@link #hostStarved}). */
    private final java.util.concurrent.atomic.AtomicReference<Upstreams> latest;
    private volatile List<com.fasterxml.jackson.databind.JsonNode> lastMembers = List.of();
    private final java.util.Set<String> discovered = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final AgentConfig config;
    private final Clock clock;
    private final LongSupplier clockMillis;
    private final Consumer<InstanceHealth.Transition> onHealth;
    private final UpstreamCircuits.Listener onBreaker;
    private volatile Consumer<Upstream> onAdded = u -> { };
    private final Optional<Router> directRouter;
    private final Optional<ModelCatalog> directCatalog;
    private final ProviderLimits providerLimits;
    private final Avoidances avoidances;
    /** What every upstream did lately, for sharing traffic among peers; kept across reloads. */
    private final LiveTargets live;
    private final HostLag hostLag;
    private final int directTierIndex;
    private final String directTierName;

    /** {@code previous}: the upstreams of the configuration this one replaces (a reload), whose unchanged upstreams it takes. */
    Upstreams(AgentConfig config, Clock clock, LongSupplier clockMillis, Consumer<InstanceHealth.Transition> onHealth,
              UpstreamCircuits.Listener onBreaker, LiveTargets.Listener onSlo, Optional<Upstreams> previous) {
        this.config = config;
        this.clock = clock;
        this.clockMillis = clockMillis;
        this.onHealth = onHealth;
        this.onBreaker = onBreaker;
        this.previous = previous;
        this.hostLag = previous.map(p -> p.hostLag).orElseGet(() -> new HostLag(clockMillis, HostLag.systemCpuLoad()));
        this.providerLimits = previous.map(p -> p.providerLimits).orElseGet(ProviderLimits::new);
        this.avoidances = previous.map(p -> p.avoidances).orElseGet(Avoidances::new);
        this.live = previous.map(p -> p.live).orElseGet(() -> new LiveTargets(onSlo));
        this.latest = previous.map(p -> p.latest).orElseGet(java.util.concurrent.atomic.AtomicReference::new);
        this.latest.set(this);
        Router router = null;
        int directIndex = -1;
        String directName = null;
        for (int t = 0; t < config.tiers().size(); t++) {
            AgentConfig.Tier tier = config.tiers().get(t);
            if (tier.kind() == AgentConfig.TierKind.RELAY) {
                for (AgentConfig.Instance instance : tier.instances()) {
                    addRelay(tier, t, instance);
                }
            } else {
                if (router != null) {
                    throw new io.understudy.core.config.ConfigError("tiers", "only one direct tier is supported");
                }
                directIndex = t;
                directName = tier.name();
                int tierIndex = t;
                AgentConfig.Tier directTier = tier;
                router = Router.create(config.routes(), config.providers(), pc -> {
                    String name = "direct:" + pc.name();
                    AgentConfig.Probe probe = directTier.probe();
                    DirectDefinition definition = new DirectDefinition(directTier.name(), tierIndex, pc, probe, config.breaker());
                    Optional<Upstream> kept = adopt(name, definition);
                    if (kept.isPresent()) {
                        byName.put(name, kept.get());
                        return kept.get().provider();
                    }
                    definitions.put(name, definition);
                    Provider p = Provider.create(pc, HttpTransport.forProvider(pc));
                    InstanceHealth health = probe.enabled()
                            ? new InstanceHealth(name, probe.fall(), probe.rise(), clockMillis) : null;
                    Upstream u = new Upstream(name, directTier.name(), tierIndex, 1, p, health,
                            new UpstreamCircuits(name, UpstreamCircuits.Kind.DIRECT, config.breaker(), onBreaker), live);
                    byName.put(u.name(), u);
                    if (health != null) {
                        health.onTransition(onHealth);
                        // the same provider with the probe timeout as its socket timeouts: a probe gives up by itself
                        ProviderConfig quick = new ProviderConfig(pc.name(), pc.kind(), pc.baseUrl(), pc.apiKey(),
                                probe.timeout(), probe.timeout());
                        probers.put(name, HealthProber.provider(name, Provider.create(quick, HttpTransport.forProvider(quick)),
                                probe, health, () -> u.inflight() > 0 ? HealthProber.Traffic.IN_FLIGHT
                                        : clockMillis.getAsLong() - u.lastStartedMillis() > QUIET_AFTER.toMillis()
                                        ? HealthProber.Traffic.QUIET : HealthProber.Traffic.IDLE,
                                (started, interval) -> hostStarved(u, started, interval)));
                    }
                    return p;
                });
            }
        }
        this.directRouter = Optional.ofNullable(router);
        this.directCatalog = directRouter.map(ModelCatalog::of);
        this.directTierIndex = directIndex;
        this.directTierName = directName;
    }

    /** What a relay upstream is built from. */
    private record RelayDefinition(String tier, int tierIndex, AgentConfig.Instance instance, Optional<io.understudy.core.provider.Secret> apiKey,
                                   ProviderKind api, java.time.Duration connect, java.time.Duration request, AgentConfig.Probe probe,
                                   io.understudy.core.failover.FailoverSettings.Breaker breaker) {
    }

    /** What a provider of the direct tier is built from. */
    private record DirectDefinition(String tier, int tierIndex, ProviderConfig provider, AgentConfig.Probe probe,
                                    io.understudy.core.failover.FailoverSettings.Breaker breaker) {
    }

    /**
     * The previous configuration's upstream named {@code name}, with its probe, when it was built
     * from the same {@code definition}: it moves here as it is.
     */
    private Optional<Upstream> adopt(String name, Object definition) {
        return previous.flatMap(p -> p.handOver(name, definition)).map(handed -> {
            definitions.put(name, definition);
            handed.prober().ifPresent(prober -> probers.put(name, prober));
            return handed.upstream();
        });
    }

    private record HandedOver(Upstream upstream, Optional<HealthProber> prober) {
    }

    private synchronized Optional<HandedOver> handOver(String name, Object definition) {
        Upstream u = byName.get(name);
        if (u == null || !definition.equals(definitions.get(name))) {
            return Optional.empty();
        }
        return Optional.of(new HandedOver(u, Optional.ofNullable(probers.remove(name))));
    }

    /** Everything the previous configuration had to hand over has moved here: let it go. */
    void handOverDone() {
        previous = Optional.empty();
    }

    /**
     * This configuration was replaced: stops the probes of the upstreams the new one did not take.
     * Requests still in flight on them finish (their connections close as they end).
     */
    synchronized void retire() {
        probers.values().forEach(HealthProber::close);
        probers.clear();
    }

    /** The relays last registered in etcd, for the next configuration to apply at once. */
    List<com.fasterxml.jackson.databind.JsonNode> lastMembers() {
        return lastMembers;
    }

    private Upstream addRelay(AgentConfig.Tier tier, int tierIndex, AgentConfig.Instance instance) {
        RelayDefinition definition = new RelayDefinition(tier.name(), tierIndex, instance, tier.apiKey(), tier.relayApi(),
                tier.timeouts().connect(), config.requestTimeout(), tier.probe(), config.breaker());
        Optional<Upstream> kept = adopt(instance.name(), definition);
        if (kept.isPresent()) {
            byName.put(instance.name(), kept.get());
            relays.add(kept.get());
            return kept.get();
        }
        definitions.put(instance.name(), definition);
        ProviderConfig pc = new ProviderConfig(instance.name(), tier.relayApi(), instance.baseUrl(),
                tier.apiKey(), tier.timeouts().connect(), config.requestTimeout());
        HttpTransport transport = new HttpTransport(instance.name(), Origin.RELAY, pc.connectTimeout(), pc.readTimeout(), clock);
        InstanceHealth health = tier.probe().enabled()
                ? new InstanceHealth(instance.name(), tier.probe().fall(), tier.probe().rise(), clockMillis) : null;
        Upstream u = new Upstream(instance.name(), tier.name(), tierIndex, instance.weight(), Provider.create(pc, transport),
                health, new UpstreamCircuits(instance.name(), UpstreamCircuits.Kind.RELAY, config.breaker(), onBreaker), live);
        byName.put(u.name(), u);
        relays.add(u);
        if (health != null) {
            health.onTransition(onHealth);
            probers.put(u.name(), HealthProber.relay(instance.name(), instance.baseUrl(), tier.probe(), tier.apiKey(), health,
                    () -> u.inflight() > 0 ? HealthProber.Traffic.IN_FLIGHT : HealthProber.Traffic.IDLE,
                    (started, interval) -> hostStarved(u, started, interval)));
        }
        return u;
    }

    void onAdded(Consumer<Upstream> listener) {
        this.onAdded = listener;
    }

    /**
     * Applies the relays registered in etcd to the tiers marked {@code discover}: a relay whose role
     * names such a tier joins it; a discovered relay that is no longer registered leaves.
     * Statically configured instances are never removed.
     */
    synchronized void discovered(List<com.fasterxml.jackson.databind.JsonNode> members) {
        lastMembers = List.copyOf(members);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (var m : members) {
            String name = m.path("instance").asText("");
            String role = m.path("role").asText("");
            for (int t = 0; t < config.tiers().size(); t++) {
                AgentConfig.Tier tier = config.tiers().get(t);
                if (!tier.discover() || !tier.name().equals(role) || name.isEmpty()) {
                    continue;
                }
                seen.add(name);
                if (!byName.containsKey(name)) {
                    try {
                        java.net.URI url = java.net.URI.create(m.path("url").asText());
                        Upstream u = addRelay(tier, t, new AgentConfig.Instance(name, url, 1));
                        discovered.add(name);
                        onAdded.accept(u);
                        java.util.logging.Logger.getLogger(Upstreams.class.getName())
                                .info(() -> "discovered " + name + " (" + role + ") at " + url);
                    } catch (IllegalArgumentException e) {
                        // a registration with a bad URL: ignore it rather than break routing
                    }
                }
            }
        }
        for (String name : List.copyOf(discovered)) {
            if (!seen.contains(name)) {
                discovered.remove(name);
                Upstream gone = byName.remove(name);
                definitions.remove(name);
                relays.remove(gone);
                HealthProber prober = probers.remove(name);
                if (prober != null) {
                    prober.close();
                }
                java.util.logging.Logger.getLogger(Upstreams.class.getName())
                        .info(() -> name + " is no longer registered; removed from its tier");
            }
        }
    }

    boolean discovers() {
        return config.tiers().stream().anyMatch(AgentConfig.Tier::discover);
    }

    /**
     * Records a failed attempt on {@code u} for {@code model}. A provider's Retry-After binds that
     * provider and model on every path to them, not only the one it came by (see {@link ProviderLimits}).
     */
    void failed(Upstream u, Failure failure, String model, long nowMillis) {
        u.failed(failure, model, nowMillis);
        if (failure instanceof Failure.RateLimited limited && limited.origin() == Origin.PROVIDER) {
            long until = nowMillis + UpstreamCircuits.cooldown(failure).toMillis();
            if (u.kind() == UpstreamCircuits.Kind.DIRECT) {
                providerLimits.limit(u.provider().name(), model, nowMillis, until);
            } else if (limited.model().isPresent() && !limited.upstream().equals(u.name())) {
                providerLimits.learn(u.name(), model, limited.upstream(), limited.model().get());
                providerLimits.limit(limited.upstream(), limited.model().get(), nowMillis, until);
            }
        }
    }

    /** Records which provider and provider model a relay served {@code model} from (its answer's headers). */
    void served(Upstream u, String model, Map<String, String> upstreamHeaders) {
        String provider = upstreamHeaders.get("x-understudy-provider");
        String providerModel = upstreamHeaders.get("x-understudy-model");
        if (u.kind() == UpstreamCircuits.Kind.RELAY && provider != null && providerModel != null) {
            providerLimits.learn(u.name(), model, provider, providerModel);
        }
    }

    ProviderLimits providerLimits() {
        return providerLimits;
    }

    /** What the operator took out of rotation for now. */
    Avoidances avoidances() {
        return avoidances;
    }

    Upstream get(String name) {
        return byName.get(name);
    }

    /** Relays in tier order, then the direct providers. */
    List<Upstream> all() {
        List<Upstream> out = new ArrayList<>(relays);
        out.sort(java.util.Comparator.comparingInt(Upstream::tierIndex));
        byName.values().stream().filter(u -> u.kind() == UpstreamCircuits.Kind.DIRECT).forEach(out::add);
        return out;
    }

    List<Upstream> relays() {
        return List.copyOf(relays);
    }

    Optional<Router> directRouter() {
        return directRouter;
    }

    /** What the direct tier can serve, for /v1/models when no relay answers. */
    /** The latency objective {@code model} is held to on {@code u}: its model rule's, else its tier's. */
    Optional<Slo> sloFor(Upstream u, String model) {
        return config.sloFor(u.tier(), model);
    }

    /** What {@code u} did lately and where it stands against its SLOs, into its /status object. */
    void describeLive(Upstream u, com.fasterxml.jackson.databind.node.ObjectNode into, long nowMillis) {
        live.describe(u.name(), into, nowMillis);
    }

    Optional<ModelCatalog> directCatalog() {
        return directCatalog;
    }

    /**
     * Every (upstream, model) pair for the decision; {@code excluded} upstreams show as circuit open.
     * Direct providers that do not meet {@code requirement} are not candidates at all; relays are,
     * since they are told the requirement and enforce it themselves.
     */
    List<FailoverPolicy.Candidate> candidates(List<String> models, Set<String> excluded, long nowMillis, Requirement requirement) {
        List<FailoverPolicy.Candidate> out = new ArrayList<>();
        for (String model : models) {
            for (Upstream u : relays) {
                if (!requirement.isNone() && u.knownToIgnoreRequirements()) {
                    continue; // it answered one without enforcing it: never again sent one
                }
                if (avoidances.avoided(u.name(), nowMillis)) {
                    continue; // the operator took it out of rotation for now (see AdminEndpoint)
                }
                long cooling = Math.max(u.coolingUntil(model), providerLimits.relayUntil(u.name(), model));
                out.add(new FailoverPolicy.Candidate(u.name(), u.tier(), u.tierIndex(), model, model, u.healthState(),
                        u.circuitOpen(model, nowMillis) || excluded.contains(u.name()), cooling, 0, false, u.weight(),
                        u.live(model, sloFor(u, model), nowMillis)));
            }
            if (directRouter.isPresent()) {
                List<Router.Attempt> plan = directRouter.get().plan(model, requirement).attempts();
                for (int i = 0; i < plan.size(); i++) {
                    Router.Attempt a = plan.get(i);
                    Upstream u = byName.get("direct:" + a.provider().name());
                    if (avoidances.avoided(u.name(), nowMillis)) {
                        continue;
                    }
                    // within the direct tier the route's priorities are the preference
                    out.add(new FailoverPolicy.Candidate(u.name(), directTierName, directTierIndex, model, a.model(),
                            u.healthState(), u.circuitOpen(a.model(), nowMillis) || excluded.contains(u.name()),
                            Math.max(u.coolingUntil(a.model()), providerLimits.until(a.provider().name(), a.model())),
                            a.priority(), true, a.weight(), u.live(a.model(), sloFor(u, a.model()), nowMillis)));
                }
            }
        }
        return out;
    }

    /**
     * Why no upstream could be tried for a call with {@code requirement}: the direct providers' gaps
     * for each model, and that no relay answered.
     */
    String unmetRequirement(List<String> models, Requirement requirement) {
        List<String> directGaps = new ArrayList<>();
        for (String model : models) {
            directRouter.map(r -> r.plan(model, requirement)).filter(Router.Result::requirementUnmet)
                    .flatMap(Router.Result::noRoute).ifPresent(directGaps::add);
        }
        List<String> why = new ArrayList<>();
        if (!relays.isEmpty()) {
            why.add("no relay could be asked (none usable)");
        }
        if (directGaps.isEmpty()) {
            why.add("no direct provider is configured for " + String.join(", ", models));
        }
        why.addAll(directGaps);
        return "No upstream that meets " + requirement + " could serve this request: " + String.join("; ", why);
    }

    /** Whether this host keeps time well enough for probe timeouts to mean anything. */
    HostLag hostLag() {
        return hostLag;
    }

    /**
     * Why a probe timeout of {@code u} that began at {@code startedMillis} says more about this host
     * than about {@code u}, if it does: gathers the facts for {@link InstanceHealth#hostExcuse}.
     */
    Optional<String> hostStarved(Upstream u, long startedMillis, java.time.Duration interval) {
        return InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(
                hostLag.stallSince(startedMillis),
                u.inflight() == 0,
                hostLag.saturatedSince(startedMillis),
                InstanceHealth.allSlowWhileOneAnswers(latest.get().byName.values().stream().flatMap(x -> x.health().stream()).toList(),
                        startedMillis, interval.toMillis())));
    }

    /**
     * A stream on {@code u} is overdue: gives u's health what its streams and this host show, so that
     * streams falling quiet together make it suspect (see {@link InstanceHealth#streamsQuiet}).
     */
    void streamOverdue(Upstream u) {
        if (!u.overdueCountDue(System.nanoTime())) {
            return;
        }
        u.health().ifPresent(h -> {
            HealthState state = h.state();
            long answered = h.lastAnsweredMillis();
            if ((state != HealthState.UP && state != HealthState.UNKNOWN) || answered == Long.MIN_VALUE) {
                return;
            }
            long now = clockMillis.getAsLong();
            h.streamsQuiet(u.overdueStreams(), now - answered, hostLag.stallSince(answered));
        });
    }

    @Override
    public void close() {
        retire();
        hostLag.close();
    }
}
