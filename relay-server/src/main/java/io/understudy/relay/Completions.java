package io.understudy.relay;

import io.understudy.core.receipt.Recent;
import io.understudy.core.failover.FailoverLoop;
import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.RetryBudget;
import io.understudy.core.failover.UpstreamCircuits;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.error.Origin;
import io.understudy.core.pricing.Price;
import io.understudy.core.provider.ChatCompletion;
import io.understudy.core.provider.ChatStream;
import io.understudy.core.provider.Embeddings;
import io.understudy.core.GenAiMetrics;
import io.understudy.core.routing.Requirement;
import io.understudy.core.routing.LiveTargets;
import io.understudy.core.routing.Router;
import io.understudy.core.server.Api;
import io.understudy.core.server.ApiErrors;
import io.understudy.core.server.ClientStream;
import io.understudy.core.server.HeaderValues;
import io.understudy.core.server.RequestBodies;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.ResponsesRequest;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;
import io.opentelemetry.api.trace.Span;
import io.understudy.core.tracing.Tracing;

/**
 * The model endpoints. Each request's route lists provider targets in order; which target to call,
 * whether to retry one, move on, wait out a Retry-After or give up is decided by the failover engine
 * the agent uses too ({@link FailoverPolicy} run by {@link FailoverLoop}): the same retry budget,
 * circuits per provider and per model ({@link UpstreamCircuits}), and Retry-After bound to the
 * provider and model that sent it. Client errors end the request. After the first byte reached the
 * client, a broken upstream ends the stream with an in-band error event, never with a truncated
 * answer that looks complete (the agent resumes it).
 */
final class Completions {
    /** The request log: the class's logger, or a silent one for a rehearsal (see {@link Rehearsal}). */
    private final Logger log;
    /** Every upstream of a relay is a provider: one tier, in route order. */
    private static final String TIER = "provider";

    private final RelayConfig config;
    private final Router router;
    private final RelayMetrics metrics;
    private final Recent<Receipt> receipts;
    private final Clock clock;
    private final FailoverPolicy policy;
    private final RetryBudget budget;
    private final Map<String, UpstreamCircuits> circuits = new ConcurrentHashMap<>();
    /** What each provider did lately, for sharing a route's traffic among targets of one priority. */
    private final LiveTargets live;
    private final Tracing tracing;

    /**
     * {@code previous}: the engine of the configuration this one replaces (a reload). Its retry budget
     * carries on, and so do the circuits of providers whose settings did not change: a reload
     * forgets nothing it has learnt about a provider that is still the same.
     */
    Completions(RelayConfig config, Router router, RelayMetrics metrics, Recent<Receipt> receipts, Clock clock, Logger log,
                Tracing tracing, Optional<Completions> previous) {
        this.log = log;
        this.tracing = tracing;
        this.config = config;
        this.router = router;
        this.metrics = metrics;
        this.receipts = receipts;
        this.clock = clock;
        this.policy = new FailoverPolicy(new FailoverPolicy.Self(config.instance(), Origin.PROVIDER),
                config.failover().maxRetryAfterWait().toMillis(), Map.of(TIER, config.failover().retries()));
        this.budget = previous.map(p -> p.budget).orElseGet(() -> RetryBudget.of(config.failover().budget(), clock::millis));
        this.live = previous.map(p -> p.live).orElseGet(() -> new LiveTargets(metrics.slos(log)));
        previous.filter(p -> p.config.failover().breaker().equals(config.failover().breaker())).ifPresent(p ->
                p.circuits.forEach((provider, c) -> {
                    if (java.util.Objects.equals(p.config.providers().get(provider), config.providers().get(provider))) {
                        circuits.put(provider, c);
                    }
                }));
    }

    RetryBudget budget() {
        return budget;
    }

    /** Models whose last request was drawn among peer targets: past this many, new ones are not shown. */
    private static final int DRAWS_SHOWN = 100;
    /** The latest weighted draw's reason per requested model (for /status). */
    private final Map<String, String> lastDraws = new ConcurrentHashMap<>();

    /**
     * For /status: what each provider did lately, per model; each SLO's state on it; and, per model,
     * the reason of the latest draw among a route's peer targets.
     */
    void describeRouting(com.fasterxml.jackson.databind.node.ObjectNode body) {
        com.fasterxml.jackson.databind.node.ObjectNode providers = body.putObject("providers");
        for (String provider : router.providers().keySet()) {
            live.describe(provider, providers.putObject(provider), clock.millis());
        }
        com.fasterxml.jackson.databind.node.ObjectNode draws = body.putObject("latest_draws");
        new java.util.TreeMap<>(lastDraws).forEach(draws::put);
    }

    static String newRequestId() {
        return io.understudy.core.RequestIds.next();
    }

    /** One request in flight: its id, timing and the attempts made so far. */
    private final class Call {
        final String id = newRequestId();
        final long startNanos = System.nanoTime();
        final String endpoint;
        final Api api;
        final List<Receipt.AttemptRecord> attempts = new ArrayList<>();
        final List<FailoverPolicy.FailedAttempt> failures = new ArrayList<>();
        /** Providers whose half-open circuit had no trial call left for this request. */
        final Set<String> excluded = new HashSet<>();
        /** What the client requires of the provider (x-understudy-require); read in {@link #plan}. */
        final Optional<String> requireHeader;
        Requirement requirement = Requirement.NONE;
        /** The model asked for, once the request was read (for the GenAI metrics). */
        String model = "";
        int attemptsMade;
        /** The request's span: a child of the caller's (the agent's attempt) when it sent its trace context. */
        final Span span;

        Call(String endpoint, Api api, ServerRequest req) {
            this.endpoint = endpoint;
            this.api = api;
            this.requireHeader = req.headers().first(Requirement.HEADER);
            this.span = tracing.request(endpoint, name -> req.headers().first(HeaderNames.create(name)).orElse(null));
            span.setAttribute(Tracing.OPERATION, GenAiMetrics.Call.operationOf(endpoint));
            span.setAttribute(Tracing.REQUEST_ID, id);
        }

        Duration elapsed() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }
    }

    // ------------------------------------------------------------------ endpoints

    void chat(ServerRequest req, ServerResponse res) {
        Call call = new Call("chat", Api.OPENAI, req);
        try {
            ChatRequest chat = ChatRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            logPrompt(call, chat.body());
            serveChat(call, res, chat, chat.includeUsage());
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    void messages(ServerRequest req, ServerResponse res) {
        Call call = new Call("messages", Api.ANTHROPIC, req);
        try {
            MessagesRequest messages = MessagesRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            logPrompt(call, messages.body());
            serveChat(call, res, messages, true);
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    /** OpenAI's Responses API: as it came to providers that serve it, else translated (its stateless part). */
    void responses(ServerRequest req, ServerResponse res) {
        Call call = new Call("responses", Api.RESPONSES, req);
        try {
            ResponsesRequest responses = ResponsesRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            logPrompt(call, responses.body());
            serveChat(call, res, responses, true);
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    void embeddings(ServerRequest req, ServerResponse res) {
        Call call = new Call("embeddings", Api.OPENAI, req);
        try {
            EmbeddingsRequest request = EmbeddingsRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            Served<Embeddings> served = failover(call, request.model(), false, target -> target.provider().embed(
                    request.withModel(target.model())));
            Embeddings answer = served.answer();
            sendWhole(call, res, request.model(), served.target(), answer.model(), answer.usage(), answer.bytes());
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    // ------------------------------------------------------------------ the attempt loop

    /** A chat or Messages request, sent in its own dialect to providers that speak it (see {@link io.understudy.core.provider.Provider}). */
    private void serveChat(Call call, ServerResponse res, Conversation chat, boolean clientWantsUsage) {
        if (chat.stream()) {
            Served<OpenStream> served = failover(call, chat.model(), true, target -> OpenStream.open(target,
                    chat.withModel(target.model()).withStreamUsage()));
            relayStream(call, res, chat, served, clientWantsUsage);
            return;
        }
        Served<ChatCompletion> served = failover(call, chat.model(), false, target -> target.provider().complete(
                chat.withModel(target.model())));
        ChatCompletion answer = served.answer();
        sendWhole(call, res, chat.model(), served.target(), answer.model(), answer.usage(), answer.bytes());
        logAnswer(call, answer.json());
    }

    /** A whole (non-streamed) answer: priced, receipted, sent with its headers. */
    private void sendWhole(Call call, ServerResponse res, String requestedModel, Router.Attempt target, String answeredModel,
                           Usage usage, byte[] body) {
        String provider = target.provider().name();
        Receipt receipt = receipt(call, requestedModel, provider, answeredModel, false, usage);
        commonHeaders(res, call, provider, answeredModel);
        costHeader(res, receipt);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(body);
        finish(call, "ok", receipt);
    }

    /** A stream whose first chunk arrived: only then has a target answered. */
    private record OpenStream(ChatStream stream, StreamChunk first) {
        static OpenStream open(Router.Attempt target, Conversation request) {
            ChatStream stream = target.provider().stream(request);
            try {
                StreamChunk first = stream.next();
                if (first == null) {
                    throw new FailureException(new Failure.Unavailable(Origin.PROVIDER, target.provider().name(),
                            Failure.UnavailableKind.BROKEN_STREAM, "stream ended before the first chunk"));
                }
                return new OpenStream(stream, first);
            } catch (RuntimeException e) {
                stream.close();
                throw e;
            }
        }
    }

    /** One call of one target; throws {@link FailureException} when it fails. */
    @FunctionalInterface
    private interface TargetCall<T> {
        T call(Router.Attempt target);
    }

    /** The target that answered, its answer, and when its attempt began (System.nanoTime). */
    private record Served<T>(Router.Attempt target, T answer, long startedNanos) {
    }

    /**
     * Runs the request through the failover engine over its route's targets. Returns the first
     * answer; throws the failure to send when the engine gives up.
     */
    private <T> Served<T> failover(Call call, String model, boolean stream, TargetCall<T> targetCall) {
        List<Router.Attempt> plan = plan(call, model);
        budget.recordRequest();
        int maxAttempts = plan.size() * (1 + config.failover().retries().sameUpstream()) + 1;
        FailoverLoop.Steps<Served<T>> steps = new FailoverLoop.Steps<>() {
            @Override
            public FailoverPolicy.Situation situation() {
                return Completions.this.situation(call, model, plan, maxAttempts, stream);
            }

            @Override
            public boolean admit(FailoverPolicy.Attempt a) {
                String provider = a.candidate().upstream();
                if (!circuits(provider).breaker().tryAcquirePermit()) {
                    call.excluded.add(provider); // half-open and its trial calls are taken: look elsewhere
                    return false;
                }
                return true;
            }

            @Override
            public FailoverLoop.Carried<Served<T>> attempt(FailoverPolicy.Attempt a) {
                Router.Attempt target = targetOf(plan, a.candidate());
                String provider = target.provider().name();
                if (!call.failures.isEmpty()) {
                    FailoverPolicy.FailedAttempt last = call.failures.get(call.failures.size() - 1);
                    metrics.fallback(last.upstream(), outcomeOf(last.failure()));
                    if (a.move() == FailoverPolicy.Move.REDIRECT) {
                        budget.recordRedirect();
                    }
                    log.info(() -> call.id + " " + a.reason());
                }
                FailoverLoop.pause(a.delayMillis());
                call.attemptsMade++;
                Span span = providerSpan(call, target, a);
                long startedNanos = System.nanoTime();
                a.draw().filter(d -> lastDraws.size() < DRAWS_SHOWN || lastDraws.containsKey(model))
                        .ifPresent(d -> lastDraws.put(model, d));
                try {
                    Map<io.helidon.http.HeaderName, String> trace = Tracing.headers(span);
                    T answer = targetCall.call(trace.isEmpty() ? target
                            : target.via(target.provider().withHeaders(trace)));
                    recordAttempt(call, target, "ok", null);
                    circuits(provider).succeeded(target.model());
                    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
                    if (stream) { // the stream's first chunk is in: its end is recorded by relayStream
                        live.firstToken(provider, target.model(), target.slo(), took, clock.millis());
                    } else {
                        live.completed(provider, target.model(), took, clock.millis());
                    }
                    span.setAttribute(Tracing.OUTCOME, "answered");
                    return new FailoverLoop.Answered<>(new Served<>(target, answer, startedNanos));
                } catch (FailureException e) {
                    Failure failure = e.failure();
                    recordAttempt(call, target, outcomeOf(failure), failure.message());
                    circuits(provider).failed(failure, target.model(), clock.millis(), false);
                    if (!(failure instanceof Failure.ClientError)) {
                        live.failed(provider, target.model(), clock.millis());
                    }
                    call.failures.add(new FailoverPolicy.FailedAttempt(provider, target.model(), failure));
                    Tracing.failed(span, outcomeOf(failure), failure.message());
                    return new FailoverLoop.Tried<>();
                } finally {
                    span.end();
                }
            }
        };
        return switch (FailoverLoop.run(policy, steps, maxAttempts)) {
            case FailoverLoop.Served<Served<T>> served -> served.answer();
            case FailoverLoop.GaveUp<Served<T>> gaveUp -> {
                log.info(() -> call.id + " gave up: " + gaveUp.giveUp().reason());
                throw new FailureException(gaveUp.giveUp().failure());
            }
        };
    }

    /** The span of one provider call: which provider and model, and why the engine chose it. */
    private Span providerSpan(Call call, Router.Attempt target, FailoverPolicy.Attempt a) {
        Span span = tracing.call(call.span, "call " + target.provider().name());
        span.setAttribute(Tracing.PROVIDER, target.provider().name());
        span.setAttribute(Tracing.UPSTREAM, target.provider().name());
        span.setAttribute(Tracing.REQUEST_MODEL, target.model());
        span.setAttribute(Tracing.ATTEMPT, call.attemptsMade);
        span.setAttribute(Tracing.MOVE, a.move().name().toLowerCase(java.util.Locale.ROOT));
        span.setAttribute(Tracing.REASON, a.reason());
        span.setAttribute(Tracing.SERVER_ADDRESS, target.provider().config().baseUrl().getHost());
        return span;
    }

    /** The planned target a candidate stands for (a route names a provider once per model). */
    private static Router.Attempt targetOf(List<Router.Attempt> plan, FailoverPolicy.Candidate c) {
        for (Router.Attempt t : plan) {
            if (t.provider().name().equals(c.upstream()) && t.model().equals(c.askModel())) {
                return t;
            }
        }
        throw new IllegalStateException("candidate " + c.upstream() + "/" + c.askModel() + " is not in the plan");
    }

    /**
     * What the policy reads: every target of the route, with its provider's circuits for that model,
     * its priority and weight, and what it did lately.
     */
    private FailoverPolicy.Situation situation(Call call, String model, List<Router.Attempt> plan, int maxAttempts, boolean stream) {
        long now = clock.millis();
        List<FailoverPolicy.Candidate> candidates = new ArrayList<>(plan.size());
        for (int i = 0; i < plan.size(); i++) {
            Router.Attempt target = plan.get(i);
            String provider = target.provider().name();
            if (call.excluded.contains(provider)) {
                continue;
            }
            UpstreamCircuits c = circuits(provider);
            // a relay does not probe its providers: their health is what their calls show (the circuits)
            candidates.add(new FailoverPolicy.Candidate(provider, TIER, 0, model, target.model(), HealthState.UNKNOWN,
                    c.circuitOpen(target.model(), now), c.coolingUntil(target.model()), target.priority(), true, target.weight(),
                    live.live(provider, target.model(), target.slo(), now)));
        }
        // no deadline of its own: each call is bounded by its provider's timeouts, the request by the attempt cap
        return new FailoverPolicy.Situation(List.of(model), List.of(), candidates, List.copyOf(call.failures),
                budget.askOnce(), now, Long.MAX_VALUE, List.of(), Optional.empty(), ThreadLocalRandom.current().nextDouble(),
                call.attemptsMade, maxAttempts, Optional.empty(), stream);
    }

    private UpstreamCircuits circuits(String provider) {
        return circuits.computeIfAbsent(provider, p -> new UpstreamCircuits(p, UpstreamCircuits.Kind.DIRECT,
                config.failover().breaker(), (name, state) -> log.info(() -> "circuit of provider " + name + " is now " + state)));
    }

    /** The route's targets that meet the call's requirement; a 422 when none does, a 404 when no route. */
    private List<Router.Attempt> plan(Call call, String model) {
        call.model = model;
        call.span.updateName(call.endpoint + " " + model);
        call.span.setAttribute(Tracing.REQUEST_MODEL, model);
        call.requirement = Requirement.fromHeader(call.requireHeader);
        Router.Result result = router.plan(model, call.requirement);
        if (result.requirementUnmet()) {
            metrics.requirementRefused(call.endpoint);
            throw Requirement.unmet(result.noRoute().orElseThrow());
        }
        if (result.noRoute().isPresent()) {
            throw new FailureException(new Failure.ClientError(Origin.LOCAL, "local", 404, "invalid_request_error",
                    "model_not_found", "model", result.noRoute().get()));
        }
        return result.attempts();
    }

    // ------------------------------------------------------------------ streaming

    private void relayStream(Call call, ServerResponse res, Conversation chat, Served<OpenStream> served, boolean clientWantsUsage) {
        Router.Attempt attempt = served.target();
        ChatStream stream = served.answer().stream();
        StreamChunk first = served.answer().first();
        String provider = attempt.provider().name();
        String answeredModel = first.json().path("model").asText(attempt.model());
        metrics.timeToFirstToken(provider, call.elapsed());
        metrics.genAi().firstChunk(genAiCall(call, provider, answeredModel), call.elapsed());
        metrics.streamOpened();
        commonHeaders(res, call, provider, answeredModel);
        ClientStream client = new ClientStream(res, call.api, chat.model(), clientWantsUsage);
        Usage usage = Usage.ZERO;
        String outcome = "ok";
        Receipt receipt = null;
        try (stream) {
            client.open();
            StreamChunk chunk = first;
            Failure broken = null;
            while (chunk != null) {
                if (chunk.usage().isPresent()) {
                    usage = chunk.usage().get();
                }
                client.write(chunk);
                try {
                    chunk = stream.next();
                } catch (FailureException e) {
                    broken = e.failure();
                    break;
                }
            }
            receipt = receipt(call, chat.model(), provider, answeredModel, true, usage);
            if (broken == null) {
                live.completed(provider, attempt.model(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - served.startedNanos()),
                        clock.millis());
                String total = receipt.total().map(BigDecimal::toPlainString).orElse("unknown");
                client.complete("understudy-cost-usd=" + total + " request-id=" + call.id);
            } else {
                outcome = "stream_broken";
                Failure failure = broken;
                recordAttempt(call, attempt, outcomeOf(failure), failure.message());
                circuits(provider).failed(failure, attempt.model(), clock.millis(), false);
                live.failed(provider, attempt.model(), clock.millis());
                log.warning(() -> call.id + " stream from " + provider + " broke after the first byte: " + failure.message());
                client.fail(failure);
            }
        } catch (IOException | RuntimeException clientGone) {
            // Helidon reports a vanished client on the next write; closing the upstream (try above) cancels it.
            outcome = "client_closed";
        } finally {
            metrics.streamClosed();
            if (receipt == null) {
                receipt = receipt(call, chat.model(), provider, answeredModel, true, usage);
            }
            finish(call, outcome, receipt);
        }
    }

    // ------------------------------------------------------------------ receipts, headers, errors

    private Receipt receipt(Call call, String requestedModel, String provider, String model, boolean stream, Usage usage) {
        Optional<Price> price = config.prices().price(provider, model);
        Optional<BigDecimal> cost = price.map(p -> p.cost(usage));
        Receipt receipt = new Receipt(call.id, clock.instant().getEpochSecond(), call.endpoint, requestedModel, provider,
                model, stream, usage, price, cost, config.feePercent(), List.copyOf(call.attempts), call.elapsed().toMillis(),
                call.requirement.toString());
        metrics.usage(provider, model, usage, cost.orElse(null));
        receipts.add(receipt.id(), receipt);
        return receipt;
    }

    private void recordAttempt(Call call, Router.Attempt attempt, String outcome, String detail) {
        call.attempts.add(new Receipt.AttemptRecord(attempt.provider().name(), attempt.model(), outcome, detail));
        metrics.attempt(attempt.provider().name(), outcome);
    }

    private void commonHeaders(ServerResponse res, Call call, String provider, String model) {
        res.header(HeaderNames.create("x-request-id"), call.id);
        res.header(HeaderNames.create("x-understudy-provider"), provider);
        if (!call.requirement.isNone()) {
            res.header(Requirement.ENFORCED, call.requirement.toString()); // the hop before can tell it was honoured
        }
        res.header(HeaderNames.create("x-understudy-model"), HeaderValues.safe(model));
        res.header(HeaderNames.create("x-understudy-role"), config.role().wireName());
        res.header(HeaderNames.create("x-understudy-receipt"), "/v1/receipts/" + call.id);
    }

    private static void costHeader(ServerResponse res, Receipt receipt) {
        receipt.total().ifPresent(total -> res.header(HeaderNames.create("x-understudy-cost-usd"), total.toPlainString()));
    }

    private void finish(Call call, String outcome, Receipt receipt) {
        if (outcome.equals("ok")) {
            call.span.setAttribute(Tracing.OUTCOME, outcome);
        } else {
            Tracing.failed(call.span, outcome, outcome);
        }
        call.span.setAttribute(Tracing.PROVIDER, receipt.provider());
        call.span.setAttribute(Tracing.RESPONSE_MODEL, receipt.model());
        call.span.setAttribute(Tracing.INPUT_TOKENS, receipt.usage().promptTokens());
        call.span.setAttribute(Tracing.OUTPUT_TOKENS, receipt.usage().completionTokens());
        call.span.end();
        metrics.request(call.endpoint, outcome, call.elapsed());
        GenAiMetrics.Call served = genAiCall(call, receipt.provider(), receipt.model());
        metrics.genAi().operation(served, call.elapsed(), outcome.equals("ok") ? Optional.empty() : Optional.of(outcome));
        metrics.genAi().tokens(served, receipt.usage());
        log.info(() -> call.id + " " + call.endpoint + " model=" + receipt.model() + " provider=" + receipt.provider()
                + " outcome=" + outcome + " ms=" + call.elapsed().toMillis() + " tokens_in=" + receipt.usage().promptTokens()
                + " tokens_out=" + receipt.usage().completionTokens()
                + " cost_usd=" + receipt.total().map(BigDecimal::toPlainString).orElse("unknown"));
    }

    private void fail(Call call, ServerResponse res, Failure failure) {
        Tracing.failed(call.span, outcomeOf(failure), failure.message());
        call.span.end();
        metrics.request(call.endpoint, outcomeOf(failure), call.elapsed());
        if (!call.attempts.isEmpty()) { // a provider was called: a GenAI operation that failed
            Receipt.AttemptRecord last = call.attempts.get(call.attempts.size() - 1);
            metrics.genAi().operation(genAiCall(call, last.provider(), ""), call.elapsed(), Optional.of(outcomeOf(failure)));
        }
        log.info(() -> call.id + " " + call.endpoint + " failed status=" + failure.httpStatus() + " code="
                + failure.errorCode() + " origin=" + failure.origin().wireName());
        if (failure.origin() == Origin.PROVIDER && !res.isSent()) {
            // which provider and model failed, so a caller binds a Retry-After to them on every path it has
            if (failure instanceof Failure.RateLimited limited && limited.model().isPresent()) {
                res.header(HttpTransport.ERROR_PROVIDER, limited.upstream());
                res.header(HttpTransport.ERROR_MODEL, limited.model().get());
            } else if (!call.attempts.isEmpty()) {
                Receipt.AttemptRecord last = call.attempts.get(call.attempts.size() - 1);
                res.header(HttpTransport.ERROR_PROVIDER, last.provider());
                res.header(HttpTransport.ERROR_MODEL, last.model());
            }
        }
        ApiErrors.send(res, call.api, failure, call.id);
    }

    /** The request as the GenAI conventions describe it, served (or last tried) by {@code provider}. */
    private GenAiMetrics.Call genAiCall(Call call, String provider, String responseModel) {
        java.net.URI server = Optional.ofNullable(router.providers().get(provider)).map(p -> p.config().baseUrl())
                .orElse(java.net.URI.create("http://unknown"));
        return new GenAiMetrics.Call(GenAiMetrics.Call.operationOf(call.endpoint), provider, call.model, responseModel, server);
    }

    static String outcomeOf(Failure failure) {
        return switch (failure) {
            case Failure.ClientError c -> "client_error_" + c.status();
            case Failure.Retryable r -> "upstream_" + r.status();
            case Failure.RateLimited ignored -> "rate_limited";
            case Failure.Unavailable u -> u.kind().code();
        };
    }

    private void logPrompt(Call call, ObjectNode body) {
        if (config.logPrompts()) {
            log.info(() -> call.id + " prompt " + Json.text(body));
        }
    }

    private void logAnswer(Call call, ObjectNode body) {
        if (config.logPrompts()) {
            log.info(() -> call.id + " answer " + Json.text(body));
        }
    }
}
