package io.understudy.agent;

import io.understudy.core.routing.Slo;
import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.FailoverSettings;
import io.understudy.core.failover.FailoverSettings.Breaker;
import io.understudy.core.failover.FailoverSettings.Budget;
import io.understudy.core.failover.FirstTokenDeadline;
import io.helidon.config.Config;
import io.understudy.core.Glob;
import io.understudy.core.config.ConfigError;
import io.understudy.core.config.ConfigReader;
import io.understudy.core.config.ProviderConfigs;
import io.understudy.core.pricing.PriceTable;
import io.understudy.core.provider.ProviderKind;
import io.understudy.core.provider.Secret;
import io.understudy.core.routing.Requirement;
import io.understudy.core.routing.Route;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Everything the agent needs, validated once at start and frozen. Every default is written next
 * to its option in {@code config/agent.yaml}.
 */
public record AgentConfig(String host, int port, long maxBodyBytes, boolean logPrompts, List<Secret> clientKeys,
                          Duration requestTimeout, int maxAttempts, int maxStreamRecoveries, Duration maxRetryAfterWait,
                          double costGuardRatio, Budget retryBudget, Breaker breaker, List<Tier> tiers,
                          Map<String, ProviderConfigs.Entry> providers, List<Route> routes, PriceTable prices,
                          List<ModelRule> models, Optional<io.understudy.core.etcd.EtcdSettings> etcd, String name,
                          int receiptsKept, Requirement require, io.understudy.core.tracing.TracingSettings tracing,
                          Optional<Secret> adminToken, int maxConcurrentRequests) {

    public enum TierKind { RELAY, DIRECT }

    /** One tier: relay instances, or the providers called directly. */
    /**
     * {@code discover}: also take instances from the relays registered in etcd under a role named like
     * this tier. {@code relayApi}: what its relays serve; an Anthropic request goes to their own
     * {@code /v1/messages} untranslated unless it is {@link ProviderKind#OPENAI} (chat only).
     */
    public record Tier(String name, TierKind kind, List<Instance> instances, Optional<Secret> apiKey, Probe probe,
                       Timeouts timeouts, boolean discover, FailoverPolicy.Retries retries, ProviderKind relayApi,
                       Optional<Slo> slo) {
        public Tier {
            instances = List.copyOf(instances);
        }
    }

    public record Instance(String name, URI baseUrl, int weight) {
    }

    /**
     * Active health probe of each upstream of a tier. A relay: GET of {@code path}, relative to the
     * instance's origin. A provider of the direct tier: its model list ({@code path} unused).
     */
    public record Probe(boolean enabled, String path, Duration interval, Duration timeout, int fall, int rise,
                        boolean withAuth) {
    }

    /**
     * Per-attempt time limits. {@code response} bounds the wait for a non-streamed answer (which
     * legitimately arrives only when complete, so it cannot detect a dead relay: probes do that).
     * {@code firstToken} is the ceiling of a wait that {@code adaptive} draws from what each
     * (upstream, model) normally does ({@link FirstTokenDeadline}).
     */
    public record Timeouts(Duration connect, Duration firstToken, Duration idle, Duration response,
                           FirstTokenDeadline.Settings adaptive) {
    }

    /**
     * Settings for the models matching a pattern: fallbacks, prefill capability, timeouts.
     * {@code require}: what every request for these models requires of its provider, besides the
     * request's own. {@code slo}: their latency objective on every upstream (it overrides the tier's).
     */
    public record ModelRule(Glob model, List<String> fallbacks, List<String> onContextLength, boolean allowExpensive,
                            boolean prefill, Optional<Duration> firstToken, Optional<Duration> idle, Requirement require,
                            Optional<Slo> slo) {
        public ModelRule {
            fallbacks = List.copyOf(fallbacks);
            onContextLength = List.copyOf(onContextLength);
        }
    }

    public AgentConfig {
        clientKeys = List.copyOf(clientKeys);
        tiers = List.copyOf(tiers);
        providers = Map.copyOf(providers);
        routes = List.copyOf(routes);
        models = List.copyOf(models);
        if (tiers.isEmpty()) {
            throw new ConfigError("tiers", "at least one tier is required");
        }
    }

    private static FirstTokenDeadline.Settings adaptive(Config a) {
        FirstTokenDeadline.Settings d = FirstTokenDeadline.Settings.SHIPPED;
        double multiple = ConfigReader.decimal(a, "multiple", java.math.BigDecimal.valueOf(d.multiple())).doubleValue();
        if (multiple < 1 || multiple > 100) {
            throw new ConfigError(ConfigReader.path(a, "multiple"), "must be between 1 and 100");
        }
        Duration floor = ConfigReader.duration(a, "floor", d.floor());
        if (floor.toMillis() < 100) {
            throw new ConfigError(ConfigReader.path(a, "floor"), "must be at least PT0.1S");
        }
        return new FirstTokenDeadline.Settings(ConfigReader.bool(a, "enabled", d.enabled()), multiple, floor, ConfigReader.integer(a, "min-samples", d.minSamples(), 1, 128));
    }

    public AgentConfig withPort(int newPort) {
        return new AgentConfig(host, newPort, maxBodyBytes, logPrompts, clientKeys, requestTimeout, maxAttempts,
                maxStreamRecoveries, maxRetryAfterWait, costGuardRatio, retryBudget, breaker, tiers, providers, routes,
                prices, models, etcd, name, receiptsKept, require, tracing, adminToken, maxConcurrentRequests);
    }

    /**
     * This configuration with {@code running}'s values for the keys a reload cannot change (see
     * {@code AgentServer.RESTART_ONLY}): listener, name, etcd, retry budget, receipts kept, tracing,
     * the concurrent request limit.
     */
    public AgentConfig keepingRestartOnly(AgentConfig running) {
        return new AgentConfig(running.host, running.port, maxBodyBytes, logPrompts, clientKeys, requestTimeout, maxAttempts,
                maxStreamRecoveries, maxRetryAfterWait, costGuardRatio, running.retryBudget, breaker, tiers, providers, routes,
                prices, models, running.etcd, running.name, running.receiptsKept, require, running.tracing, adminToken,
                running.maxConcurrentRequests);
    }

    /** Each tier's same-upstream retries, by tier name. */
    public Map<String, FailoverPolicy.Retries> retriesByTier() {
        Map<String, FailoverPolicy.Retries> out = new java.util.HashMap<>();
        tiers.forEach(t -> out.put(t.name(), t.retries()));
        return Map.copyOf(out);
    }

    /** host name and process id: unique per agent on a fleet, stable while it runs. */
    private static String defaultName() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "agent";
        }
        return host + "-" + ProcessHandle.current().pid();
    }

    /** The most specific rule whose pattern matches (most literal characters; first on a tie). */
    /**
     * What a request requires of its provider: {@code asked} (its header), {@code agent.require}, and
     * the {@code require} of every model rule that matches {@code model} (all of them, not only the
     * most specific: a narrower rule written for timeouts must not drop a wider rule's requirement),
     * all at once. They hold for its fallback models too: the data is the same. Requirements that
     * leave a tag no value are the client's 422.
     */
    public Requirement requirementFor(Requirement asked, String model) {
        try {
            Requirement configured = require;
            for (ModelRule rule : models) {
                if (rule.model().matches(model)) {
                    configured = configured.and(rule.require());
                }
            }
            return asked.and(configured);
        } catch (IllegalArgumentException e) {
            String whose = asked.isNone() ? "This agent's config requirements for " + model
                    : "The request's " + Requirement.HEADER.defaultCase() + " (" + asked + ") and this agent's config for " + model;
            throw Requirement.unmet(whose + " conflict: " + e.getMessage() + ". Nothing was sent.");
        }
    }

    /** The latency objective for {@code model} on the upstreams of {@code tier}: the model rule's, else the tier's. */
    public Optional<Slo> sloFor(String tier, String model) {
        Optional<Slo> own = ruleFor(model).flatMap(ModelRule::slo);
        if (own.isPresent()) {
            return own;
        }
        for (Tier t : tiers) {
            if (t.name().equals(tier)) {
                return t.slo();
            }
        }
        return Optional.empty();
    }

    public Optional<ModelRule> ruleFor(String model) {
        ModelRule best = null;
        for (ModelRule r : models) {
            if (r.model().matches(model) && (best == null || r.model().specificity() > best.model().specificity())) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    public static AgentConfig load(String source, Function<String, String> env) {
        return ConfigReader.read(source, root -> from(root, env));
    }

    public static AgentConfig from(Config root, Function<String, String> env) {
        Config server = root.get("server");
        Config agent = root.get("agent");
        List<Secret> keys = ConfigReader.secrets(agent, "client-keys", "client-keys-env", env);
        Budget retryBudget = FailoverSettings.budget(agent, "agent");
        Breaker breaker = FailoverSettings.breaker(agent);

        Map<String, ProviderConfigs.Entry> providers = ProviderConfigs.providers(root, env);
        List<Tier> tiers = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Config t : ConfigReader.list(root, "tiers")) {
            String name = ConfigReader.requireString(t, "name");
            TierKind kind = switch (ConfigReader.string(t, "kind", "relay")) {
                case "relay" -> TierKind.RELAY;
                case "direct" -> TierKind.DIRECT;
                default -> throw new ConfigError(ConfigReader.path(t, "kind"), "must be relay or direct");
            };
            if (!names.add(name)) {
                throw new ConfigError(ConfigReader.path(t, "name"), "tier '" + name + "' is defined twice");
            }
            List<Instance> instances = new ArrayList<>();
            for (Config i : ConfigReader.list(t, "instances")) {
                String instanceName = ConfigReader.requireString(i, "name");
                if (!names.add(instanceName)) {
                    throw new ConfigError(ConfigReader.path(i, "name"), "name '" + instanceName + "' is used twice");
                }
                URI url;
                try {
                    url = URI.create(ConfigReader.requireString(i, "base-url"));
                    if (url.getHost() == null || !(url.getScheme().equals("http") || url.getScheme().equals("https"))) {
                        throw new IllegalArgumentException();
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConfigError(ConfigReader.path(i, "base-url"), "must be an http(s) URL");
                }
                instances.add(new Instance(instanceName, url, ConfigReader.integer(i, "weight", 1, 1, 1000)));
            }
            boolean discover = ConfigReader.bool(t, "discover", false);
            if (kind == TierKind.RELAY && instances.isEmpty() && !discover) {
                throw new ConfigError(t.key().toString(), "relay tier '" + name + "' needs at least one instance, or discover: true");
            }
            Optional<Secret> apiKey = ConfigReader.string(t, "api-key-env").map(env)
                    .filter(v -> !v.isBlank()).map(v -> new Secret(v.trim()));
            Config p = t.get("probe");
            Probe probe = new Probe(ConfigReader.bool(p, "enabled", true), ConfigReader.string(p, "path", "/health/ready"),
                    // a provider's model list is a call to someone else's API: half the pace of a relay's probe
                    ConfigReader.duration(p, "interval", Duration.ofMillis(kind == TierKind.DIRECT ? 1000 : 500)),
                    ConfigReader.duration(p, "timeout", Duration.ofMillis(400)),
                    ConfigReader.integer(p, "fall", 2, 1, 100), ConfigReader.integer(p, "rise", 2, 1, 100),
                    ConfigReader.bool(p, "with-auth", false));
            Config to = t.get("timeouts");
            Timeouts timeouts = new Timeouts(ConfigReader.duration(to, "connect", Duration.ofSeconds(1)),
                    ConfigReader.duration(to, "first-token", Duration.ofSeconds(30)),
                    ConfigReader.duration(to, "idle", Duration.ofSeconds(30)),
                    ConfigReader.duration(to, "response", Duration.ofSeconds(300)), adaptive(to.get("adaptive-first-token")));
            FailoverPolicy.Retries retries = FailoverSettings.retries(t.get("retries"));
            ProviderKind relayApi = switch (ConfigReader.string(t, "api", "openai+anthropic")) {
                case "openai+anthropic" -> ProviderKind.OPENAI_AND_ANTHROPIC;
                case "openai" -> ProviderKind.OPENAI;
                default -> throw new ConfigError(ConfigReader.path(t, "api"), "must be openai+anthropic or openai");
            };
            tiers.add(new Tier(name, kind, instances, apiKey, probe, timeouts, discover, retries, relayApi,
                    Slo.from(t, "tier " + name)));
        }
        List<ModelRule> models = new ArrayList<>();
        for (Config m : ConfigReader.list(root, "models")) {
            Config to = m.get("timeouts");
            models.add(new ModelRule(new Glob(ConfigReader.requireString(m, "model")),
                    ConfigReader.strings(m, "fallbacks"), ConfigReader.strings(m, "on-context-length"),
                    ConfigReader.bool(m, "allow-expensive-fallbacks", false), ConfigReader.bool(m, "prefill", false),
                    ConfigReader.string(to, "first-token").map(v -> ConfigReader.duration(to, "first-token", null)),
                    ConfigReader.string(to, "idle").map(v -> ConfigReader.duration(to, "idle", null)),
                    requirement(m, "require"), Slo.from(m, ConfigReader.requireString(m, "model"))));
        }
        for (Config r : ConfigReader.list(root, "routes")) {
            if (r.get("slo").exists()) {
                throw new ConfigError(ConfigReader.path(r, "slo"), "at the agent, an slo belongs on a tier or on a models[] rule;"
                        + " route SLOs are a relay's");
            }
        }
        double ratio = ConfigReader.decimal(agent, "cost-guard-ratio", new java.math.BigDecimal("2.0")).doubleValue();
        if (ratio < 1) {
            throw new ConfigError("agent.cost-guard-ratio", "must be at least 1");
        }
        Optional<io.understudy.core.etcd.EtcdSettings> etcdSettings = io.understudy.core.etcd.EtcdSettings.from(root, env);
        if (etcdSettings.isEmpty() && tiers.stream().anyMatch(Tier::discover)) {
            throw new ConfigError("tiers", "discover: true needs an etcd section");
        }
        return new AgentConfig(ConfigReader.string(server, "host", "127.0.0.1"),
                ConfigReader.integer(server, "port", 4000, 0, 65535),
                ConfigReader.longValue(agent, "max-body-size", 8L * 1024 * 1024, 1024, 1024L * 1024 * 1024),
                ConfigReader.bool(agent, "log-prompts", false), keys,
                ConfigReader.duration(agent, "request-timeout", Duration.ofSeconds(300)),
                ConfigReader.integer(agent, "max-attempts", 6, 1, 50),
                ConfigReader.integer(agent, "max-stream-recoveries", 2, 0, 10),
                ConfigReader.duration(agent, "max-retry-after-wait", Duration.ofSeconds(2)),
                ratio, retryBudget, breaker, tiers, providers, ProviderConfigs.routes(root, providers),
                ProviderConfigs.prices(root), models, etcdSettings,
                ConfigReader.string(agent, "name", defaultName()),
                ConfigReader.integer(agent, "receipts-kept", 10_000, 0, 10_000_000),
                requirement(agent, "require"), io.understudy.core.tracing.TracingSettings.from(env),
                ConfigReader.string(agent, "admin-token-env").map(env).filter(t -> !t.isBlank()).map(t -> new Secret(t.trim())),
                ConfigReader.integer(server, "max-concurrent-requests", 0, 0, 1_000_000));
    }

    /** A requirement in config ({@code require: "region=eu,retention=zero"}); absent: none. */
    private static Requirement requirement(Config node, String key) {
        try {
            return ConfigReader.string(node, key).map(Requirement::parse).orElse(Requirement.NONE);
        } catch (IllegalArgumentException e) {
            throw new ConfigError(ConfigReader.path(node, key), e.getMessage() + " (write key=value pairs, e.g. region=eu,retention=zero)");
        }
    }
}
