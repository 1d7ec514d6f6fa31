package io.understudy.agent;

import io.understudy.core.failover.UpstreamCircuits;
import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.RetryBudget;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.failsafe.CircuitBreaker;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.Version;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.receipt.Recent;
import io.understudy.core.routing.ModelCatalog;
import io.understudy.core.server.Api;
import io.understudy.core.server.ApiErrors;
import io.understudy.core.server.ClientAuth;
import io.understudy.core.routing.Requirement;
import io.understudy.core.server.PassThrough;
import io.understudy.core.wire.WireChecks;
import io.understudy.core.provider.HttpTransport;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The failover agent: the app's local OpenAI- and Anthropic-compatible endpoint. This class wires
 * the parts and owns the route table; {@link Dispatcher} serves requests, {@link FailoverPolicy}
 * decides, {@link InstanceHealth} tracks each relay.
 */
public final class AgentServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AgentServer.class.getName());
    private static final Set<String> KNOWN_PATHS = Set.of("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings",
            "/v1/models", "/health/live", "/health/ready", "/metrics", "/status", "/", "/admin/avoid");

    /** Pass-through calls (audio, images...) may take long: the wait between two reads of the answer. */
    private static final java.time.Duration PASS_THROUGH_READ_TIMEOUT = java.time.Duration.ofSeconds(600);

    /** What was started with: the keys that change only at a restart (address, name, etcd, budget) are read here. */
    private final AgentConfig config;
    private final Clock clock;
    private final AgentMetrics metrics = new AgentMetrics();
    private final FailoverLog failoverLog = new FailoverLog(100);
    private final RetryBudget budget;
    private final Dispatcher.Counts counts = Dispatcher.Counts.zero();
    private final Recent<CallReceipt> receipts;
    private final long startedMillis;
    private final WebServer server;
    private final io.understudy.core.etcd.Etcd etcd;
    private final LeaderView leaderView;
    private final PassThrough passThrough;
    private final io.understudy.core.tracing.Tracing tracing;
    private final io.understudy.core.server.Admission admission;
    /** Checks every stream in flight; one for the process, shared by the dispatchers of each configuration. */
    private final StreamWatcher streamWatcher;
    /** What a configuration builds; a reload swaps in a new one, and each request keeps the one it started with. */
    private final java.util.concurrent.atomic.AtomicReference<Served> served = new java.util.concurrent.atomic.AtomicReference<>();
    /** Set by the process's main once it listens; an agent run in a test has none. */
    private volatile io.understudy.core.config.ConfigReloads<AgentConfig> reloads;

    /** Everything one configuration builds. */
    private record Served(AgentConfig config, Upstreams upstreams, Dispatcher dispatcher, ClientAuth auth, AdminEndpoint admin,
                          StatusView status) {
    }

    private AgentServer(AgentConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.startedMillis = clock.millis();
        this.budget = RetryBudget.of(config.retryBudget(), clock::millis);
        this.etcd = config.etcd().map(io.understudy.core.etcd.Etcd::new).orElse(null);
        this.leaderView = etcd == null ? null : new LeaderView(etcd, config.name(), clock, this::onLeaderChange);
        this.receipts = new Recent<>(config.receiptsKept());
        this.tracing = io.understudy.core.tracing.Tracing.start("understudy-agent", config.name(), config.tracing());
        this.passThrough = new PassThrough(new HttpTransport("pass-through", Origin.RELAY, java.time.Duration.ofSeconds(2),
                PASS_THROUGH_READ_TIMEOUT, clock), PASS_THROUGH_READ_TIMEOUT);
        this.streamWatcher = new StreamWatcher();
        Served first = build(config, Optional.empty());
        served.set(first);
        watchUpstreams(first, Optional.empty());
        if (leaderView != null) {
            leaderView.onMembers(members -> {
                Upstreams upstreams = served().upstreams();
                if (upstreams.discovers()) {
                    upstreams.discovered(members);
                }
            });
        }
        metrics.watchBudget(budget);
        this.admission = io.understudy.core.server.Admission.of(config.maxConcurrentRequests());
        metrics.watchAdmission(admission);
        if (leaderView != null) {
            metrics.watchLeader(leaderView);
        }
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .connectionOptions(o -> o.tcpNoDelay(true))
                .routing(this::routing)
                .build();
    }

    private Served build(AgentConfig c, Optional<Served> previous) {
        Upstreams upstreams = new Upstreams(c, clock, clock::millis, this::onHealthChange, this::onBreakerChange, sloListener(),
                previous.map(Served::upstreams));
        Dispatcher dispatcher = new Dispatcher(c, upstreams, new FailoverPolicy(c.maxRetryAfterWait().toMillis(), c.retriesByTier()),
                budget, metrics, failoverLog, clock, this::leaderTier,
                (instance, epoch) -> leaderView == null || leaderView.acceptClaim(instance, epoch), receipts, tracing, counts,
                streamWatcher);
        return new Served(c, upstreams, dispatcher, new ClientAuth(c.clientKeys()),
                new AdminEndpoint(c.adminToken(), c, upstreams, failoverLog, clock),
                new StatusView(c, upstreams, dispatcher, budget, failoverLog, clock, startedMillis,
                        java.util.Optional.ofNullable(leaderView), this::leaderTier));
    }

    /** An SLO's shifts are metered, logged, and listed among /status's recent events. */
    private io.understudy.core.routing.LiveTargets.Listener sloListener() {
        io.understudy.core.routing.SloMetrics meters = metrics.slos(LOG);
        return new io.understudy.core.routing.LiveTargets.Listener() {
            @Override
            public void tracking(String upstream, String slo, java.util.function.Supplier<io.understudy.core.routing.SloState> state) {
                meters.tracking(upstream, slo, state);
            }

            @Override
            public void shifted(String upstream, io.understudy.core.routing.Slo slo, io.understudy.core.routing.SloState after,
                                boolean away) {
                meters.shifted(upstream, slo, after, away);
                failoverLog.add(new FailoverLog.Entry(clock.millis(), "-", upstream, away ? "slo_shift_away" : "slo_shift_back",
                        "slo '" + slo.name() + "': " + after.reason()));
            }
        };
    }

    /** Gauges for the upstreams {@code fresh} built; those of upstreams it replaced or dropped go. */
    private void watchUpstreams(Served fresh, Optional<Served> previous) {
        previous.ifPresent(p -> p.upstreams().all().forEach(old -> {
            if (fresh.upstreams().get(old.name()) != old) {
                metrics.unwatchUpstream(old.name());
            }
        }));
        for (Upstream u : fresh.upstreams().all()) {
            if (previous.map(p -> p.upstreams().get(u.name())).orElse(null) != u) {
                metrics.watchUpstream(u);
            }
        }
        fresh.upstreams().onAdded(metrics::watchUpstream);
    }

    private Served served() {
        return served.get();
    }

    /** The keys a reload cannot change: they shape the listener, leadership, the receipts kept and the exporters. */
    static final List<io.understudy.core.config.ConfigReloads.Key<AgentConfig>> RESTART_ONLY = List.of(
            new io.understudy.core.config.ConfigReloads.Key<>("server.host", AgentConfig::host),
            new io.understudy.core.config.ConfigReloads.Key<>("server.port", AgentConfig::port),
            new io.understudy.core.config.ConfigReloads.Key<>("agent.name", AgentConfig::name),
            new io.understudy.core.config.ConfigReloads.Key<>("etcd", AgentConfig::etcd),
            new io.understudy.core.config.ConfigReloads.Key<>("agent.retry-budget", AgentConfig::retryBudget),
            new io.understudy.core.config.ConfigReloads.Key<>("agent.receipts-kept", AgentConfig::receiptsKept),
            new io.understudy.core.config.ConfigReloads.Key<>("tracing (OTEL_*)", AgentConfig::tracing),
            new io.understudy.core.config.ConfigReloads.Key<>("server.max-concurrent-requests", AgentConfig::maxConcurrentRequests));

    /**
     * Swaps in what {@code next} builds: tiers and instances, routes, providers and keys, models,
     * timeouts, prices, client and admin keys. Upstreams whose definition did not change keep their
     * health, circuits and probes. Requests in flight finish on what they started with. The keys of
     * {@link #RESTART_ONLY} keep their running values; the notes name those that differ.
     */
    public List<String> reconfigure(AgentConfig next) {
        List<String> notes = io.understudy.core.config.ConfigReloads.restartOnly(config, next, RESTART_ONLY);
        Served running = served();
        Served fresh = build(next.keepingRestartOnly(config), Optional.of(running));
        watchUpstreams(fresh, Optional.of(running));
        served.set(fresh);
        if (leaderView != null && fresh.upstreams().discovers()) {
            // before the retirement: discovered relays move over with their probes, like configured ones
            fresh.upstreams().discovered(running.upstreams().lastMembers());
        }
        fresh.upstreams().handOverDone();
        running.upstreams().retire();
        notes.forEach(LOG::warning);
        return notes;
    }

    /** Shows {@code reloads} in /status and the metrics. */
    public void reportReloads(io.understudy.core.config.ConfigReloads<AgentConfig> reloads) {
        this.reloads = reloads;
        metrics.watchReloads(reloads);
    }

    public static AgentServer start(AgentConfig config) {
        AgentServer agent = new AgentServer(config, Clock.systemUTC());
        try {
            agent.server.start();
            if (!agent.server.isRunning()) { // Helidon logs a failed bind and returns; never claim to listen on port -1
                throw new IllegalStateException("could not listen on " + config.host() + ":" + config.port() + " (address in use?)");
            }
        } catch (RuntimeException e) {
            agent.served().upstreams().close();
            agent.streamWatcher.close();
            agent.tracing.close();
            throw e;
        }
        LOG.info(() -> "understudy agent " + Version.current() + " listening on http://" + config.host() + ":" + agent.port()
                + " with tiers " + config.tiers().stream().map(AgentConfig.Tier::name).toList());
        return agent;
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        if (leaderView != null) {
            leaderView.close();
            etcd.close();
        }
        served().upstreams().close();
        server.stop();
        streamWatcher.close();
        tracing.close(); // after the server: spans of requests that finished while it stopped are exported too
    }

    /**
     * The tier of the current leader: the tier of the upstream named like the leader's instance, else a
     * tier named like its role. Empty without etcd or before a leader is known.
     */
    java.util.Optional<String> leaderTier() {
        if (leaderView == null) {
            return java.util.Optional.empty();
        }
        Served s = served();
        return leaderView.leader().map(l -> {
            Upstream u = s.upstreams().get(l.instance());
            if (u != null) {
                return u.tier();
            }
            return s.config().tiers().stream().map(AgentConfig.Tier::name).filter(n -> n.equals(l.role())).findFirst().orElse(null);
        });
    }

    private void onLeaderChange(LeaderView.Leader leader) {
        failoverLog.add(new FailoverLog.Entry(leader.learntAtMillis(), "-", "leadership", leader.instance(),
                "leader is now " + leader.instance() + " (" + leader.role() + ") at epoch " + leader.epoch()));
    }

    void routing(HttpRouting.Builder rules) {
        rules.post("/v1/chat/completions", (req, res) -> guarded(req, res, Api.OPENAI, s -> s.dispatcher().chat(req, res, Api.OPENAI)))
                .post("/v1/messages", (req, res) -> guarded(req, res, Api.ANTHROPIC, s -> s.dispatcher().chat(req, res, Api.ANTHROPIC)))
                .post("/v1/responses", (req, res) -> guarded(req, res, Api.RESPONSES, s -> s.dispatcher().chat(req, res, Api.RESPONSES)))
                .post("/v1/embeddings", (req, res) -> guarded(req, res, Api.OPENAI, s -> s.dispatcher().embeddings(req, res)))
                .get("/v1/models", (req, res) -> guarded(req, res, Api.forModelList(req), s -> models(s, req, res)))
                .get("/v1/receipts/{id}", (req, res) -> guarded(req, res, Api.OPENAI, s -> receipt(req, res)))
                .get("/health/live", (req, res) -> json(res, Json.object().put("status", "UP").put("version", Version.current())))
                .get("/health/ready", this::ready)
                .get("/metrics", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    res.send(metrics.scrape());
                })
                .get("/status", (req, res) -> json(res, statusJson()))
                .get("/admin/avoid", (req, res) -> served().admin().list(req, res))
                .post("/admin/avoid", (req, res) -> served().admin().avoid(req, res))
                .delete("/admin/avoid", (req, res) -> served().admin().lift(req, res))
                .get("/", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
                    res.send(served().status().html());
                })
                .any(this::otherPath)
                .error(Throwable.class, this::unexpected);
    }

    /** Any other call under /v1/ passes through (see {@link PassThrough}); the rest is 404/405. */
    private void otherPath(ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        if (!PassThrough.takes(path, KNOWN_PATHS)) {
            notFound(req, res);
            return;
        }
        guarded(req, res, Api.OPENAI, s -> passThrough(s, req, res));
    }

    /** The status of the configuration running, and which generation of it that is. */
    private ObjectNode statusJson() {
        ObjectNode body = served().status().json();
        io.understudy.core.config.ConfigReloads<AgentConfig> r = reloads;
        if (r != null) {
            body.putObject("config").put("generation", r.generation()).put("last_reload", r.last())
                    .put("reloads_on_sighup", r.reloadsOnSighup());
        }
        return body;
    }

    /**
     * Usable relays in tier order (a relay passes the call on to its providers the same way), then
     * the direct tier's providers for the call's model. A relay that refuses the connection is
     * skipped for the next; once a byte has gone up, the answer (or the failure) is the client's.
     */
    private void passThrough(Served s, ServerRequest req, ServerResponse res) {
        AgentConfig config = s.config();
        Upstreams upstreams = s.upstreams();
        PassThrough.Body body = PassThrough.Body.read(req, config.maxBodyBytes());
        Optional<String> model = PassThrough.model(body.head(), req.headers().first(HeaderNames.CONTENT_TYPE));
        model.ifPresent(WireChecks::checkModel);
        Requirement requirement = config.requirementFor(Requirement.fromHeader(req.headers().first(Requirement.HEADER)),
                model.orElse(""));
        Optional<Requirement> relaysMustEnforce = Optional.of(requirement).filter(r -> !r.isNone());
        List<PassThrough.Candidate> candidates = new java.util.ArrayList<>();
        for (Upstream u : upstreams.relays()) {
            if (u.healthState().usable() && !u.circuitOpen() && !(relaysMustEnforce.isPresent() && u.knownToIgnoreRequirements())) {
                candidates.add(new PassThrough.Candidate(u.name(), u.provider().config(), Optional.empty(), relaysMustEnforce));
            }
        }
        upstreams.directRouter().ifPresent(r -> candidates.addAll(PassThrough.candidates(r, model, requirement)));
        if (candidates.isEmpty() && !requirement.isNone()) {
            throw Requirement.unmet(upstreams.unmetRequirement(model.map(List::of).orElse(List.of("(none named)")), requirement));
        }
        long started = System.nanoTime();
        PassThrough.Outcome o = passThrough.forward(req, res, body, candidates,
                name -> LOG.info(() -> "pass-through " + req.path().path() + ": " + name + " refused the connection; trying the next"));
        metrics.passThrough(o.candidate(), o.status());
        LOG.info(() -> o.describe(req, model, started));
    }

    private void guarded(ServerRequest req, ServerResponse res, Api api, java.util.function.Consumer<Served> handler) {
        Served s = served(); // the request keeps this configuration to its end, whatever a reload swaps in meanwhile
        Optional<Failure> denied = s.auth().check(req.headers().first(HeaderNames.AUTHORIZATION),
                req.headers().first(HeaderNames.create("x-api-key")));
        if (denied.isPresent()) {
            ApiErrors.send(res, api, denied.get(), null);
            return;
        }
        if (!admission.tryEnter()) {
            refuseOverLimit(req, res, api);
            return;
        }
        try {
            handler.accept(s);
        } catch (FailureException e) {
            ApiErrors.send(res, api, e.failure(), null);
        } finally {
            admission.leave();
        }
    }

    private void refuseOverLimit(ServerRequest req, ServerResponse res, Api api) {
        metrics.refusedOverLimit();
        if (admission.refuse(res, api, "this agent", clock.millis())) {
            LOG.warning(() -> admission.overLimitWarning(req.path().path(), "understudy_agent_refused_over_limit_total"));
        }
    }


    /**
     * Lists models from the first usable relay (what the relays route); the direct tier's catalog
     * when no relay answers. In Anthropic's shape for callers that send {@code anthropic-version}.
     */
    private void models(Served s, ServerRequest req, ServerResponse res) {
        Upstreams upstreams = s.upstreams();
        boolean anthropic = Api.forModelList(req) == Api.ANTHROPIC;
        for (Upstream u : upstreams.relays()) {
            if (!u.healthState().usable() || u.circuitOpen()) {
                continue;
            }
            try {
                var future = new java.util.concurrent.CompletableFuture<ObjectNode>();
                Thread.ofVirtual().start(() -> {
                    try {
                        future.complete(u.provider().models());
                    } catch (RuntimeException e) {
                        future.completeExceptionally(e);
                    }
                });
                ObjectNode list = future.get(2, TimeUnit.SECONDS);
                res.header(HeaderNames.create("x-understudy-upstream"), u.name());
                json(res, anthropic ? ModelCatalog.toAnthropic(list) : list);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                LOG.fine(() -> "models from " + u.name() + " failed: " + e);
            }
        }
        ObjectNode list = upstreams.directCatalog().map(ModelCatalog::openAiList).orElseGet(ModelCatalog::emptyOpenAiList);
        json(res, anthropic ? ModelCatalog.toAnthropic(list) : list);
    }

    private void receipt(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        CallReceipt receipt = receipts.get(id).orElseThrow(() -> new FailureException(new Failure.ClientError(Origin.LOCAL,
                "local", 404, "invalid_request_error", "receipt_not_found", "id", "No receipt for request id '" + id
                + "' (receipts are kept for the last " + receipts.capacity() + " requests)")));
        json(res, receipt.toJson());
    }

    private void ready(ServerRequest req, ServerResponse res) {
        boolean anyUsable = served().upstreams().all().stream().anyMatch(u -> u.healthState().usable() && !u.circuitOpen());
        res.status(anyUsable ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        json(res, Json.object().put("status", anyUsable ? "UP" : "DOWN"));
    }

    private static void json(ServerResponse res, ObjectNode body) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }

    private void notFound(ServerRequest req, ServerResponse res) {
        ApiErrors.notFound(req, res, KNOWN_PATHS);
    }

    private void unexpected(ServerRequest req, ServerResponse res, Throwable error) {
        String incident = Dispatcher.newRequestId();
        LOG.log(Level.SEVERE, "unexpected error, incident " + incident + " on " + req.path().path(), error);
        if (!res.isSent()) {
            ApiErrors.send(res, Api.forPath(req.path().path()), new Failure.Retryable(Origin.LOCAL, "agent", 500,
                    "internal_error", "The agent failed unexpectedly (incident " + incident + ")"), null);
        }
    }

    // ------------------------------------------------------------------ state changes

    /**
     * A relay marked down: attempts to it that have sent nothing to their client are re-issued
     * elsewhere at once (HAProxy's on-marked-down shutdown-sessions). Streams already flowing that have
     * been silent for a probe timeout are resumed elsewhere at once too (no request on it answered
     * during the probes that decided it, a probe timeout at least, so a stream stalled by the same
     * fault always qualifies); one still flowing
     * is left alone, and resumed by its dispatcher if it falls silent later (see
     * {@code Dispatcher.nextStreamEvent}).
     */
    private void onHealthChange(InstanceHealth.Transition t) {
        metrics.healthTransition(t.instance(), t.from().name(), t.to().name());
        failoverLog.add(new FailoverLog.Entry(t.atMillis(), "-", t.instance(), t.to().name().toLowerCase(java.util.Locale.ROOT),
                "health " + t.from() + " -> " + t.to() + ": " + t.reason()));
        LOG.info(() -> "health of " + t.instance() + ": " + t.from() + " -> " + t.to() + " (" + t.reason() + ")");
        Served s = served.get();
        // a probe can answer while the agent is still starting (Upstreams starts its probers before
        // the first configuration is set): no request can be in flight yet, so there is nothing to move
        Upstream u = s == null ? null : s.upstreams().get(t.instance());
        if (u == null) {
            return;
        }
        if (t.to() == HealthState.UP && u.breaker().isOpen()) {
            // fast failback: probes see it healthy again, so the next call is a trial now rather than
            // after the breaker's fixed open period
            u.breaker().halfOpen();
            LOG.info(() -> t.instance() + " passes its probes again: circuit half-open, the next call is a trial");
        }
        if (t.to() != HealthState.DOWN) {
            return;
        }
        Failure down = new Failure.Unavailable(u.kind() == UpstreamCircuits.Kind.RELAY ? Origin.RELAY : Origin.PROVIDER, u.name(),
                Failure.UnavailableKind.MARKED_DOWN,
                u.name() + " was marked down by its health probes (" + t.reason() + ")");
        // nothing answered during the failed probes, a probe timeout at least: a stream silent that long, or one
        // silent well past its own pace (overdue), fell silent with it
        long silentMillis = s.config().tiers().stream().filter(tier -> tier.name().equals(u.tier())).findFirst()
                .orElseThrow().probe().timeout().toMillis(); // only probed tiers' upstreams have a health to change
        Failure silent = new Failure.Unavailable(down.origin(), u.name(), Failure.UnavailableKind.MARKED_DOWN,
                "stream from " + u.name() + " silent past its pace or for a probe timeout when it was marked down ("
                        + t.reason() + ")");
        int reissued = 0;
        int resumed = 0;
        for (AttemptWorker worker : u.activeAttempts()) {
            if (worker.abortIfUncommitted(down)) {
                reissued++;
            } else if (worker.abortIfSilentFor(silentMillis, silent)) {
                resumed++; // its request thread resumes it elsewhere; a stream still flowing is left alone
            }
        }
        int n = reissued;
        int m = resumed;
        metrics.movedAtMarkDown(u.name(), "reissued", n);
        metrics.movedAtMarkDown(u.name(), "resumed", m);
        if (n + m > 0) {
            LOG.info(() -> n + " request(s) in flight to " + u.name() + " re-issued elsewhere, " + m
                    + " stream(s) silent with it resumed elsewhere");
        }
    }

    private void onBreakerChange(String upstream, CircuitBreaker.State state) {
        failoverLog.add(new FailoverLog.Entry(clock.millis(), "-", upstream, state.name().toLowerCase(java.util.Locale.ROOT),
                "circuit " + state));
        LOG.info(() -> "circuit of " + upstream + " is now " + state);
    }

    static String iso(long millis) {
        return Instant.ofEpochMilli(millis).toString();
    }
}
