package io.understudy.relay;

import io.understudy.core.receipt.Recent;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.Version;
import io.understudy.core.routing.ModelCatalog;
import io.understudy.core.routing.Router;
import io.understudy.core.server.Api;
import io.understudy.core.routing.Requirement;
import io.understudy.core.server.PassThrough;
import io.understudy.core.server.ApiErrors;
import io.understudy.core.server.ClientAuth;
import io.understudy.core.error.ErrorBodies;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.Provider;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The relay: an OpenAI-compatible (and Anthropic-compatible) endpoint in front of many providers.
 * This class owns the server and its route table; {@link Completions} serves the model endpoints.
 */
public final class RelayServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RelayServer.class.getName());
    private static final Set<String> KNOWN_PATHS = Set.of("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings",
            "/v1/models", "/health/live", "/health/ready", "/metrics", "/status");

    /** Pass-through calls (audio, images...) may take long: the wait between two reads of the answer. */
    private static final java.time.Duration PASS_THROUGH_READ_TIMEOUT = java.time.Duration.ofSeconds(600);

    /** What was started with: the keys that change only at a restart (address, role, instance, etcd) are read here. */
    private final RelayConfig config;
    private final RelayMetrics metrics;
    private final PassThrough passThrough;
    private final Recent<Receipt> receipts;
    private final Clock clock;
    private final boolean silent;
    /** What a configuration builds; a reload swaps in a new one, and each request keeps the one it started with. */
    private final java.util.concurrent.atomic.AtomicReference<Served> served = new java.util.concurrent.atomic.AtomicReference<>();
    private final WebServer server;
    private final Leadership leadership;
    /** Requests in flight (drain waits for them) and the limit past which they are refused. */
    private final io.understudy.core.server.Admission admission;
    /** Set by the first client request: written once, so the hot path only reads it after that. */
    private volatile boolean servedAny;
    /** Its own log: the class's logger, or a silent one for a rehearsal. */
    private final Logger log;
    private volatile boolean draining;
    private io.understudy.core.etcd.Etcd etcd;
    /** Set by the process's main once it listens; a relay run in a test has none. */
    private volatile io.understudy.core.config.ConfigReloads<RelayConfig> reloads;
    private Campaigner campaigner;
    private final io.understudy.core.tracing.Tracing tracing;

    private RelayServer(RelayConfig config, RelayRole role, Clock clock, boolean silent) {
        if (role.role() != config.role()) {
            throw new IllegalArgumentException("a " + role.role().wireName() + " relay cannot run a " + config.role().wireName()
                    + " configuration");
        }
        this.config = config;
        this.clock = clock;
        this.silent = silent;
        this.log = silent ? silentLogger() : LOG;
        this.metrics = new RelayMetrics(config.role().wireName());
        this.passThrough = new PassThrough(new HttpTransport("pass-through", Origin.PROVIDER, java.time.Duration.ofSeconds(5),
                PASS_THROUGH_READ_TIMEOUT, clock), PASS_THROUGH_READ_TIMEOUT);
        this.receipts = new Recent<>(config.receiptsKept());
        this.tracing = io.understudy.core.tracing.Tracing.start("understudy-relay", config.instance(), config.tracing());
        this.served.set(Served.of(config, Optional.empty(), metrics, receipts, clock, silent, tracing));
        metrics.watchBudget(served().completions().budget());
        this.admission = io.understudy.core.server.Admission.of(config.maxConcurrentRequests());
        metrics.watchAdmission(admission);
        this.leadership = new Leadership(role.startsCold(), clock::millis);
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .connectionOptions(o -> o.tcpNoDelay(true))
                .routing(this::routing)
                .build();
        warnAbout(served());
    }

    /** Everything one configuration builds: who may call, where each model goes, and the engine that serves it. */
    private record Served(RelayConfig config, ClientAuth auth, Router router, ModelCatalog catalog, Completions completions) {
        static Served of(RelayConfig config, Optional<Served> previous, RelayMetrics metrics, Recent<Receipt> receipts,
                         Clock clock, boolean silent, io.understudy.core.tracing.Tracing tracing) {
            Router router = Router.create(config.routes(), config.providers(), p -> Provider.create(p, HttpTransport.forProvider(p)));
            Completions completions = new Completions(config, router, metrics, receipts, clock,
                    silent ? silentLogger() : Logger.getLogger(Completions.class.getName()), tracing,
                    previous.map(Served::completions));
            return new Served(config, new ClientAuth(config.clientKeys()), router, ModelCatalog.of(router), completions);
        }
    }

    private Served served() {
        return served.get();
    }

    private void warnAbout(Served s) {
        Router.disabledReasons(s.config().providers()).forEach((name, why) -> log.warning("provider '" + name + "' disabled: " + why));
        if (!s.auth().enabled()) {
            log.warning("no client keys configured: the relay accepts any caller (set relay.client-keys-env)");
        }
    }

    /** The keys a reload cannot change: they shape the listener, the leadership campaign and the exporters. */
    static final List<io.understudy.core.config.ConfigReloads.Key<RelayConfig>> RESTART_ONLY = List.of(
            new io.understudy.core.config.ConfigReloads.Key<>("server.host", RelayConfig::host),
            new io.understudy.core.config.ConfigReloads.Key<>("server.port", RelayConfig::port),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.role", RelayConfig::role),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.instance", RelayConfig::instance),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.advertise-url", RelayConfig::advertiseUrl),
            new io.understudy.core.config.ConfigReloads.Key<>("etcd", RelayConfig::etcd),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.drain-bound", RelayConfig::drainBound),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.retry-budget", c -> c.failover().budget()),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.rehearsal", RelayConfig::rehearsal),
            new io.understudy.core.config.ConfigReloads.Key<>("relay.receipts-kept", RelayConfig::receiptsKept),
            new io.understudy.core.config.ConfigReloads.Key<>("tracing (OTEL_*)", RelayConfig::tracing),
            new io.understudy.core.config.ConfigReloads.Key<>("server.max-concurrent-requests", RelayConfig::maxConcurrentRequests));

    /**
     * Swaps in what {@code next} builds: routes, providers and their keys, prices, client keys, timeouts,
     * circuits and retries. Requests in flight finish on what they started with. The keys of
     * {@link #RESTART_ONLY} keep their running values; the notes name those that differ.
     */
    public List<String> reconfigure(RelayConfig next) {
        Served running = served();
        List<String> notes = io.understudy.core.config.ConfigReloads.restartOnly(config, next, RESTART_ONLY);
        RelayConfig applied = next.keepingRestartOnly(config);
        Served fresh = Served.of(applied, Optional.of(running), metrics, receipts, clock, silent, tracing);
        served.set(fresh);
        warnAbout(fresh);
        notes.forEach(n -> log.warning(n));
        return notes;
    }

    /** Builds and starts a relay of {@code role}; returns once it is listening. */
    public static RelayServer start(RelayConfig config, RelayRole role) {
        return start(config, role, false);
    }

    /** A relay that logs nothing of its own: a rehearsal's throwaway relay (Helidon's own lines aside). */
    static RelayServer startSilent(RelayConfig config, RelayRole role) {
        return start(config, role, true);
    }

    private static Logger silentLogger() {
        Logger silent = Logger.getAnonymousLogger();
        silent.setUseParentHandlers(false);
        silent.setLevel(Level.OFF);
        return silent;
    }

    private static RelayServer start(RelayConfig config, RelayRole role, boolean silent) {
        RelayServer relay = new RelayServer(config, role, Clock.systemUTC(), silent);
        relay.server.start();
        if (!relay.server.isRunning()) { // Helidon logs a failed bind and returns; never claim to listen on port -1
            relay.close();
            throw new IllegalStateException("could not listen on " + config.host() + ":" + config.port() + " (address in use?)");
        }
        config.etcd().ifPresent(settings -> {
            relay.etcd = new io.understudy.core.etcd.Etcd(settings);
            String url = config.advertiseUrl().orElse("http://" + config.host() + ":" + relay.port() + "/v1");
            relay.campaigner = new Campaigner(relay.etcd, config.instance(), role, url, relay.leadership,
                    relay::drain, () -> relay.draining = false, config.drainBound(), relay::warmUp,
                    relay.metrics::leadershipTransition, Clock.systemUTC());
        });
        relay.log.info(() -> "understudy relay (" + config.role().wireName() + ") " + Version.current()
                + " listening on http://" + config.host() + ":" + relay.port());
        return relay;
    }

    public int port() {
        return server.port();
    }

    /** Whether a client request (chat, Messages, embeddings; not a probe) has reached it since it started. */
    boolean servedAny() {
        return servedAny;
    }

    /** Shows {@code reloads} in /status and the metrics. */
    public void reportReloads(io.understudy.core.config.ConfigReloads<RelayConfig> reloads) {
        this.reloads = reloads;
        metrics.watchReloads(reloads);
    }

    /** The configuration running now. */
    public RelayConfig config() {
        return served().config();
    }

    public Leadership leadership() {
        return leadership;
    }

    @Override
    public void close() {
        if (campaigner != null) {
            campaigner.close();
            etcd.close();
        }
        server.stop();
        tracing.close(); // after the server: spans of requests that finished while it stopped are exported too
    }

    /**
     * Opens a pooled connection to every provider by reading its model list, in parallel, for at most
     * 2 s: the first requests after a takeover then do not pay for connection set-up. Failures only
     * mean a colder start.
     */
    private void warmUp() {
        long start = System.nanoTime();
        java.util.List<Thread> calls = new java.util.ArrayList<>();
        for (Provider p : served().router().providers().values()) {
            calls.add(Thread.ofVirtual().start(() -> {
                try {
                    p.models();
                } catch (RuntimeException e) {
                    log.fine(() -> "warm-up of " + p.name() + " failed: " + e.getMessage());
                }
            }));
        }
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(2).toNanos();
        for (Thread t : calls) {
            try {
                t.join(java.time.Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.info(() -> "warmed up " + calls.size() + " provider connection(s) in "
                + java.time.Duration.ofNanos(System.nanoTime() - start).toMillis() + " ms before leading");
    }

    /** Stops taking new model requests (503 + x-understudy-draining) and waits for those in flight. */
    private void drain(java.time.Duration bound) {
        draining = true;
        long deadline = System.nanoTime() + bound.toNanos();
        while (admission.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.info(() -> "drained: " + admission.inFlight() + " request(s) still in flight at the bound");
    }

    void routing(HttpRouting.Builder rules) {
        rules.post("/v1/chat/completions", (req, res) -> guarded(req, res, Api.OPENAI, (s, q, r) -> s.completions().chat(q, r)))
                .post("/v1/messages", (req, res) -> guarded(req, res, Api.ANTHROPIC, (s, q, r) -> s.completions().messages(q, r)))
                .post("/v1/responses", (req, res) -> guarded(req, res, Api.RESPONSES, (s, q, r) -> s.completions().responses(q, r)))
                .post("/v1/embeddings", (req, res) -> guarded(req, res, Api.OPENAI, (s, q, r) -> s.completions().embeddings(q, r)))
                .get("/v1/models", (req, res) -> guarded(req, res, Api.forModelList(req), this::models))
                .get("/v1/receipts/{id}", (req, res) -> guarded(req, res, Api.OPENAI, this::receipt))
                .get("/health/live", this::live)
                .get("/health/ready", this::ready)
                .get("/status", this::status)
                .get("/metrics", this::metrics)
                .any(this::otherPath)
                .error(Throwable.class, this::unexpected);
    }

    /** Authenticates, then runs the handler; every {@link FailureException} becomes an API-shaped error. */
    private void guarded(ServerRequest req, ServerResponse res, Api api, Handler handler) {
        if (config.etcd().isPresent()) {
            Leadership.View v = leadership.view();
            boolean claims = leadership.claimsLeadership();
            res.header(HeaderNames.create("x-understudy-leader"), String.valueOf(claims));
            res.header(HeaderNames.create("x-understudy-epoch"), String.valueOf(claims ? v.epoch() : 0));
        }
        if (draining && req.prologue().method().text().equals("POST")) {
            res.header(HeaderNames.create("x-understudy-draining"), "true");
            ApiErrors.send(res, api, new Failure.Retryable(Origin.LOCAL, config.instance(), 503, "draining",
                    config.instance() + " is handing leadership over and takes no new requests"), null);
            return;
        }
        if (!admission.tryEnter()) {
            metrics.refusedOverLimit();
            if (admission.refuse(res, api, config.instance(), clock.millis())) {
                log.warning(() -> admission.overLimitWarning(req.path().path(), "understudy_relay_refused_over_limit_total"));
            }
            return;
        }
        if (!servedAny) {
            servedAny = true;
        }
        try {
            guardedInner(req, res, api, handler);
        } finally {
            admission.leave();
        }
    }

    private void guardedInner(ServerRequest req, ServerResponse res, Api api, Handler handler) {
        Served s = served(); // the request keeps this configuration to its end, whatever a reload swaps in meanwhile
        try {
            Optional<Failure> denied = s.auth().check(req.headers().first(HeaderNames.AUTHORIZATION),
                    req.headers().first(HeaderNames.create("x-api-key")));
            if (denied.isPresent()) {
                ApiErrors.send(res, api, denied.get(), null);
                return;
            }
            handler.handle(s, req, res);
        } catch (FailureException e) {
            ApiErrors.send(res, api, e.failure(), null);
        }
    }

    @FunctionalInterface
    private interface Handler {
        void handle(Served served, ServerRequest req, ServerResponse res);
    }

    private void models(Served s, ServerRequest req, ServerResponse res) {
        ObjectNode list = s.catalog().openAiList();
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(Api.forModelList(req) == Api.ANTHROPIC ? ModelCatalog.toAnthropic(list) : list));
    }

    private void receipt(Served s, ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        Optional<Receipt> receipt = receipts.get(id);
        if (receipt.isEmpty()) {
            throw new FailureException(new Failure.ClientError(Origin.LOCAL, "local", 404, "invalid_request_error",
                    "receipt_not_found", "id", "No receipt for request id '" + id + "' (receipts are kept for the last "
                    + config.receiptsKept() + " requests)"));
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(receipt.get().toJson()));
    }

    private void live(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(Json.object().put("status", "UP").put("role", config.role().wireName())
                .put("version", Version.current())));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        boolean ready = served().router().anyProviderEnabled();
        res.status(ready ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        ObjectNode body = Json.object().put("status", ready ? "UP" : "DOWN").put("role", config.role().wireName())
                .put("instance", config.instance());
        if (config.etcd().isPresent()) {
            body.put("leadership", leadership.view().state().name().toLowerCase(java.util.Locale.ROOT))
                    .put("epoch", leadership.view().epoch());
        }
        if (!ready) {
            body.put("reason", "no provider is enabled (check API keys)");
        }
        res.send(Json.bytes(body));
    }

    private void status(ServerRequest req, ServerResponse res) {
        Leadership.View v = leadership.view();
        ObjectNode body = Json.object().put("instance", config.instance()).put("role", config.role().wireName())
                .put("version", Version.current()).put("draining", draining).put("in_flight", admission.inFlight());
        io.understudy.core.config.ConfigReloads<RelayConfig> r = reloads;
        if (r != null) {
            body.putObject("config").put("generation", r.generation()).put("last_reload", r.last())
                    .put("reloads_on_sighup", r.reloadsOnSighup());
        }
        served().completions().describeRouting(body);
        ObjectNode l = body.putObject("leadership");
        if (config.etcd().isEmpty()) {
            l.put("state", "disabled").put("reason", "no etcd configured");
        } else {
            l.put("state", v.state().name().toLowerCase(java.util.Locale.ROOT)).put("epoch", v.epoch())
                    .put("reason", v.reason()).put("since", java.time.Instant.ofEpochMilli(v.sinceMillis()).toString())
                    .put("claims_leadership", leadership.claimsLeadership())
                    .put("cycle", campaigner == null ? "" : campaigner.lastDecision().why())
                    .put("etcd_error", campaigner == null ? "" : campaigner.etcdError());
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(metrics.scrape());
    }

    private void notFound(ServerRequest req, ServerResponse res) {
        ApiErrors.notFound(req, res, KNOWN_PATHS);
    }

    /** Any other call under /v1/ passes through to a provider (see {@link PassThrough}); the rest is 404/405. */
    private void otherPath(ServerRequest req, ServerResponse res) {
        String path = req.path().path();
        if (!PassThrough.takes(path, KNOWN_PATHS)) {
            notFound(req, res);
            return;
        }
        guarded(req, res, Api.OPENAI, this::passThrough);
    }

    private void passThrough(Served s, ServerRequest req, ServerResponse res) {
        Router router = s.router();
        PassThrough.Body body = PassThrough.Body.read(req, s.config().maxBodyBytes());
        Optional<String> model = PassThrough.model(body.head(), req.headers().first(HeaderNames.CONTENT_TYPE));
        model.ifPresent(io.understudy.core.wire.WireChecks::checkModel);
        long started = System.nanoTime();
        Requirement requirement = Requirement.fromHeader(req.headers().first(Requirement.HEADER));
        List<PassThrough.Candidate> candidates = PassThrough.compliantOrRefuse(PassThrough.candidates(router, model, requirement),
                router, model, requirement);
        if (!requirement.isNone()) {
            res.header(Requirement.ENFORCED, requirement.toString());
        }
        PassThrough.Outcome o = passThrough.forward(req, res, body, candidates,
                name -> log.info(() -> "pass-through " + req.path().path() + ": " + name + " refused the connection; trying the next"));
        log.info(() -> o.describe(req, model, started));
    }

    /** A bug or an unexpected I/O error: log it here with its stack, tell the client only an id. */
    private void unexpected(ServerRequest req, ServerResponse res, Throwable error) {
        String incident = Completions.newRequestId();
        log.log(Level.SEVERE, "unexpected error, incident " + incident + " on " + req.path().path(), error);
        if (res.isSent()) {
            return;
        }
        Failure failure = new Failure.Retryable(Origin.LOCAL, "relay", 500, "internal_error",
                "The relay failed unexpectedly (incident " + incident + ")");
        res.status(500);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(req.path().path().startsWith("/v1/messages") ? ErrorBodies.anthropic(failure) : ErrorBodies.openAi(failure)));
    }
}
