package io.understudy.agent;

import io.understudy.core.failover.UpstreamCircuits;
import io.understudy.core.failover.HealthState;
import io.understudy.core.failover.FailoverLoop;
import io.understudy.core.failover.FailoverPolicy;
import io.understudy.core.failover.RetryBudget;
import io.understudy.core.failover.FirstTokenDeadline;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.wire.MessagesRequest;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.pricing.Price;
import io.understudy.core.provider.Provider;
import io.understudy.core.receipt.Recent;
import io.understudy.core.routing.Requirement;
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

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.logging.Logger;
import io.helidon.http.HeaderName;
import io.opentelemetry.api.trace.Span;
import io.understudy.core.tracing.Tracing;

/**
 * Serves one client request: gathers the situation, asks {@link FailoverPolicy} what to do, runs
 * the attempt it chooses with its deadlines, and repeats until an answer or a clean error. Streams
 * are transparent to failover until their first byte; after that a broken stream is resumed by
 * continuation (prefill) or by a replay whose start must match what the client already has, or
 * ends with an in-band error event.
 */
final class Dispatcher {
    private static final Logger LOG = Logger.getLogger(Dispatcher.class.getName());
    /** A flowing stream silent this long on an upstream marked down is resumed elsewhere (an overdue one sooner). */
    private static final Duration SILENT_ON_DOWN = Duration.ofSeconds(1);
    /** How often a request waiting for a first token looks at its upstream's health. */
    private static final Duration STREAM_CHECK = Duration.ofMillis(100);

    private final AgentConfig config;
    private final Upstreams upstreams;
    private final FailoverPolicy policy;
    private final RetryBudget budget;
    private final AgentMetrics metrics;
    private final FailoverLog failoverLog;
    private final Clock clock;
    /** Checks every stream read by its request thread (one thread for the process, not one per stream). */
    private final StreamWatcher streamWatcher;
    private final Map<String, AgentConfig.Tier> tiers;
    private final java.util.function.Supplier<Optional<String>> leaderTier;
    private final java.util.function.BiPredicate<String, Long> acceptLeaderClaim;
    private final Recent<CallReceipt> receipts;
    private final Tracing tracing;
    final LongAdder requests;
    final LongAdder answered;
    final LongAdder failed;
    final LongAdder failovers;
    final LongAdder recovered;

    /** The agent's request totals since start: one set, shared by the dispatchers of every configuration it reloads. */
    record Counts(LongAdder requests, LongAdder answered, LongAdder failed, LongAdder failovers, LongAdder recovered) {
        static Counts zero() {
            return new Counts(new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder());
        }
    }

    Dispatcher(AgentConfig config, Upstreams upstreams, FailoverPolicy policy, RetryBudget budget, AgentMetrics metrics,
               FailoverLog failoverLog, Clock clock, java.util.function.Supplier<Optional<String>> leaderTier,
               java.util.function.BiPredicate<String, Long> acceptLeaderClaim, Recent<CallReceipt> receipts,
               Tracing tracing, Counts counts, StreamWatcher streamWatcher) {
        this.streamWatcher = streamWatcher;
        this.requests = counts.requests();
        this.answered = counts.answered();
        this.failed = counts.failed();
        this.failovers = counts.failovers();
        this.recovered = counts.recovered();
        this.receipts = receipts;
        this.tracing = tracing;
        this.leaderTier = leaderTier;
        this.acceptLeaderClaim = acceptLeaderClaim;
        this.config = config;
        this.upstreams = upstreams;
        this.policy = policy;
        this.budget = budget;
        this.metrics = metrics;
        this.failoverLog = failoverLog;
        this.clock = clock;
        Map<String, AgentConfig.Tier> byName = new java.util.HashMap<>();
        config.tiers().forEach(t -> byName.put(t.name(), t));
        this.tiers = Map.copyOf(byName);
    }

    static String newRequestId() {
        return io.understudy.core.RequestIds.next();
    }

    /** One request in flight. */
    private final class Call {
        final String id = newRequestId();
        final long startNanos = System.nanoTime();
        final long deadlineMillis;
        final Api api;
        final String endpoint;
        final String requestedModel;
        final boolean stream;
        final List<CallReceipt.Line> lines = new ArrayList<>();
        final List<String> models;
        final List<String> contextFallbacks;
        final List<String> notes = new ArrayList<>();
        final List<FailoverPolicy.FailedAttempt> failures = new ArrayList<>();
        final Set<String> excluded = new HashSet<>();
        final Set<String> prefillRejected = new HashSet<>();
        /** What the client requires of the provider (x-understudy-require); relays are told it, direct providers filtered by it. */
        final Requirement requirement;
        int attempts;
        int recoveries;
        String lastTier = "none";
        FailoverPolicy.GiveUp giveUp;
        /** The request's span, and the span of the attempt under way (its context goes to the upstream). */
        final Span span;
        Span attemptSpan = Span.getInvalid();

        Call(Api api, String endpoint, String model, boolean stream, List<String> bodyFallbacks, Requirement requirement,
             ServerRequest req) {
            this.span = tracing.request(endpoint + " " + model, name -> req.headers().first(HeaderNames.create(name)).orElse(null));
            span.setAttribute(Tracing.OPERATION, io.understudy.core.GenAiMetrics.Call.operationOf(endpoint));
            span.setAttribute(Tracing.REQUEST_MODEL, model);
            span.setAttribute(Tracing.REQUEST_ID, id);
            span.setAttribute(Tracing.STREAM, stream);
            this.api = api;
            this.requirement = requirement;
            this.endpoint = endpoint;
            this.requestedModel = model;
            this.stream = stream;
            this.deadlineMillis = clock.millis() + config.requestTimeout().toMillis();
            this.models = modelChain(model, bodyFallbacks, notes);
            this.contextFallbacks = config.ruleFor(model).map(AgentConfig.ModelRule::onContextLength).orElse(List.of());
            if (!requirement.isNone()) {
                notes.add("only providers meeting " + requirement + " were considered");
            }
            for (Avoidances.Avoidance a : upstreams.avoidances().active(clock.millis())) {
                notes.add(a.upstream() + " is out of rotation by the operator (" + a.reason() + ")");
            }
        }

        /**
         * The upstream's adapter for this call: it carries the attempt's trace context, and a relay is
         * told the requirement, so that it enforces it too.
         */
        Provider via(Upstream u) {
            Map<HeaderName, String> trace = Tracing.headers(attemptSpan);
            boolean tellRequirement = !requirement.isNone() && u.kind() == UpstreamCircuits.Kind.RELAY;
            if (trace.isEmpty() && !tellRequirement) {
                return u.provider(); // the common case, tracing off and no requirement: no map per attempt
            }
            Map<HeaderName, String> extra = new java.util.HashMap<>(trace);
            if (tellRequirement) {
                extra.put(Requirement.HEADER, requirement.toString());
            }
            return u.provider().withHeaders(extra);
        }

        Duration elapsed() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }
    }

    /**
     * The attempt that produced something for the client: for a first attempt its first event (a whole
     * answer or a stream's first chunk); for a resumed stream the chunks to send on ({@code pending}),
     * the upstream's headers, and how many content chunks the client had when a continuation began
     * (its usage counts them as prompt, not answer; -1 for a replay, whose usage covers the whole answer).
     */
    private record Answer(AttemptWorker worker, Upstream upstream, FailoverPolicy.Candidate candidate,
                          AttemptWorker.Event event, Map<String, String> upstreamHeaders, List<StreamChunk> pending,
                          int prefixChunks) {
    }

    // ------------------------------------------------------------------ endpoints

    void chat(ServerRequest req, ServerResponse res, Api api) {
        requests.increment();
        Call call = null;
        try {
            byte[] bytes = RequestBodies.readJson(req, config.maxBodyBytes());
            ObjectNode body = io.understudy.core.wire.WireChecks.parseObject(bytes);
            // 'fallbacks' is ours: taken out, the body goes upstream encoded from its tree, else as it came
            byte[] received = body.has("fallbacks") ? null : bytes;
            List<String> bodyFallbacks = takeFallbacks(body);
            // kept in the client's dialect: only an upstream that speaks the other one translates it
            Conversation chat = switch (api) {
                case OPENAI -> new ChatRequest(body, received);
                case ANTHROPIC -> new MessagesRequest(body, received);
                case RESPONSES -> new ResponsesRequest(body, received);
            };
            // Messages and Responses streams always end with their usage; chat clients ask for it
            boolean clientWantsUsage = !(chat instanceof ChatRequest openAi) || openAi.includeUsage();
            if (config.logPrompts()) {
                LOG.info("prompt " + Json.text(body));
            }
            String endpoint = switch (api) {
                case OPENAI -> "chat";
                case ANTHROPIC -> "messages";
                case RESPONSES -> "responses";
            };
            call = new Call(api, endpoint, chat.model(), chat.stream(), bodyFallbacks, requirement(req, chat.model()), req);
            budget.recordRequest();
            if (chat.stream()) {
                streamChat(call, res, chat, clientWantsUsage);
            } else {
                completeChat(call, res, chat);
            }
        } catch (FailureException e) {
            reject(res, api, call, e.failure());
        }
    }

    void embeddings(ServerRequest req, ServerResponse res) {
        requests.increment();
        Call call = null;
        try {
            EmbeddingsRequest request = EmbeddingsRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            call = new Call(Api.OPENAI, "embeddings", request.model(), false, List.of(), requirement(req, request.model()), req);
            budget.recordRequest();
            Call embedding = call;
            Answer answer = attempts(call, (u, c) -> AttemptWorker.embeddings(u, embedding.via(u), request.withModel(c.askModel())),
                    false, null);
            if (answer == null) {
                giveUp(call, res);
                return;
            }
            var embedded = ((AttemptWorker.Embedded) answer.event()).embeddings();
            upstreams.served(answer.upstream(), answer.candidate().askModel(), embedded.upstreamHeaders());
            answer.upstream().succeeded(answer.candidate().askModel(), answer.worker().elapsedMillis());
            CallReceipt.Line line = answered(call, answer.upstream(), answer.candidate().askModel(), embedded.upstreamHeaders(),
                    embedded.model(), Optional.of(embedded.usage()), "ok", null);
            headers(res, call, answer.upstream(), embedded.upstreamHeaders(), embedded.model(), line.cost());
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.send(embedded.bytes());
            succeeded(call, answer.upstream(), embedded.model(), Optional.of(embedded.usage()), false);
        } catch (FailureException e) {
            reject(res, Api.OPENAI, call, e.failure());
        }
    }

    private Requirement requirement(ServerRequest req, String model) {
        return config.requirementFor(Requirement.fromHeader(req.headers().first(Requirement.HEADER)), model);
    }

    // ------------------------------------------------------------------ non-streamed chat

    private void completeChat(Call call, ServerResponse res, Conversation chat) {
        Answer answer = attempts(call, (u, c) -> AttemptWorker.chat(u, call.via(u), chat.withModel(c.askModel())), false, null);
        if (answer == null) {
            giveUp(call, res);
            return;
        }
        var completion = ((AttemptWorker.Completed) answer.event()).completion();
        upstreams.served(answer.upstream(), answer.candidate().askModel(), completion.upstreamHeaders());
        answer.upstream().succeeded(answer.candidate().askModel(), answer.worker().elapsedMillis());
        CallReceipt.Line line = answered(call, answer.upstream(), answer.candidate().askModel(), completion.upstreamHeaders(),
                completion.model(), Optional.of(completion.usage()), "ok", null);
        headers(res, call, answer.upstream(), completion.upstreamHeaders(), completion.model(), line.cost());
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(completion.bytes());
        succeeded(call, answer.upstream(), completion.model(), Optional.of(completion.usage()), false);
        if (config.logPrompts()) {
            LOG.info(call.id + " answer " + Json.text(completion.json()));
        }
    }

    // ------------------------------------------------------------------ the attempt loop

    /** A stream being resumed: the request, what its client already has, and which resumption this is. */
    private record Resuming(Conversation chat, Sent sent, FailoverPolicy.Resumption state) {
    }

    private static final FailoverLoop.Carried<Answer> TRIED = new FailoverLoop.Tried<>();

    /**
     * The agent's steps for the one attempt loop ({@link FailoverLoop}), for first attempts and stream
     * resumptions alike, until an attempt yields something for the client (a whole answer, a stream's
     * first chunk, or a resumed stream's continuation, committed to this client). Returns null after
     * recording the give-up on the call. {@code resuming} is null for first attempts.
     */
    private Answer attempts(Call call, BiFunction<Upstream, FailoverPolicy.Candidate, AttemptWorker> start, boolean stream,
                            Resuming resuming) {
        FailoverLoop.Steps<Answer> steps = new FailoverLoop.Steps<>() {
            @Override
            public FailoverPolicy.Situation situation() {
                return Dispatcher.this.situation(call, clock.millis(), resuming);
            }

            @Override
            public boolean admit(FailoverPolicy.Attempt a) {
                Upstream u = upstreams.get(a.candidate().upstream());
                if (!u.breaker().tryAcquirePermit()) {
                    call.excluded.add(u.name()); // half-open and its trial calls are taken: look elsewhere
                    return false;
                }
                return true;
            }

            @Override
            public FailoverLoop.Carried<Answer> attempt(FailoverPolicy.Attempt a) {
                Upstream u = upstreams.get(a.candidate().upstream());
                beforeAttempt(call, u, a);
                call.attemptSpan = attemptSpan(call, u, a);
                int failuresBefore = call.failures.size();
                FailoverLoop.Carried<Answer> carried = switch (a.how()) {
                    case FRESH -> fresh(call, u, a.candidate(), start, stream);
                    case CONTINUATION -> continuation(call, u, a.candidate(), resuming);
                    case REPLAY -> replay(call, u, a.candidate(), resuming);
                };
                endAttemptSpan(call, carried, failuresBefore);
                return carried;
            }
        };
        return switch (FailoverLoop.run(policy, steps, config.maxAttempts())) {
            case FailoverLoop.Served<Answer> served -> served.answer();
            case FailoverLoop.GaveUp<Answer> gaveUp -> {
                call.giveUp = gaveUp.giveUp();
                yield null;
            }
        };
    }

    /** A first attempt: the request as asked, waited on for its first token (streams) or its whole answer. */
    private FailoverLoop.Carried<Answer> fresh(Call call, Upstream u, FailoverPolicy.Candidate c,
                          BiFunction<Upstream, FailoverPolicy.Candidate, AttemptWorker> start, boolean stream) {
        AttemptWorker worker = start.apply(u, c);
        AttemptWorker.Event event = stream ? awaitFirstToken(call, worker, u, c.askModel())
                : awaitEvent(call, worker, tiers.get(u.tier()).timeouts().response(), "no answer");
        if (event instanceof AttemptWorker.Failed f) {
            recordFailure(call, u, c, f.failure());
            return TRIED;
        }
        if (refusedUnconfirmed(call, u, c, worker, event)) {
            return TRIED;
        }
        if (!worker.commit()) { // marked down between its answer and now: the reason is queued
            recordFailure(call, u, c, drainFailure(worker, u));
            return TRIED;
        }
        return new FailoverLoop.Answered<>(new Answer(worker, u, c, event, Map.of(), List.of(), -1));
    }

    /**
     * A relay's answer to a call with a requirement that does not say the relay enforced it (a relay
     * that ignores x-understudy-require): not used. The attempt is aborted and recorded as the
     * relay's refusal, so the ladder goes on to a relay or a direct provider that meets it.
     */
    private boolean refusedUnconfirmed(Call call, Upstream u, FailoverPolicy.Candidate c, AttemptWorker worker,
                                       AttemptWorker.Event event) {
        if (call.requirement.isNone() || u.kind() != UpstreamCircuits.Kind.RELAY) {
            return false;
        }
        Map<String, String> headers = switch (event) {
            case AttemptWorker.Completed done -> done.completion().upstreamHeaders();
            case AttemptWorker.First first -> first.upstreamHeaders();
            case AttemptWorker.Embedded embedded -> embedded.embeddings().upstreamHeaders();
            default -> null;
        };
        String enforced = headers == null ? null : headers.get(Requirement.ENFORCED.lowerCase());
        if (headers == null || call.requirement.toString().equals(enforced)) {
            return false;
        }
        Failure refused = new Failure.ClientError(Origin.RELAY, u.name(), 422, "invalid_request_error", "requirement_not_confirmed",
                null, u.name() + " answered without confirming it enforced " + call.requirement
                        + " (is it an Understudy relay?); its answer was not used, and it is sent no request with a"
                        + " requirement again");
        u.ignoresRequirements();
        metrics.requirementRefusal(u.name(), "unconfirmed");
        worker.abort(refused);
        LOG.warning(() -> call.id + " " + refused.message());
        recordFailure(call, u, c, refused);
        return true;
    }

    private FailoverPolicy.Situation situation(Call call, long now, Resuming resuming) {
        LinkedHashSet<String> all = new LinkedHashSet<>(call.models);
        all.addAll(call.contextFallbacks);
        return new FailoverPolicy.Situation(call.models, call.contextFallbacks,
                upstreams.candidates(List.copyOf(all), call.excluded, now, call.requirement), List.copyOf(call.failures), budget.askOnce(),
                now, call.deadlineMillis, call.notes, leaderTier.get(), ThreadLocalRandom.current().nextDouble(),
                call.attempts, config.maxAttempts(), Optional.ofNullable(resuming).map(Resuming::state), call.stream);
    }

    /** The attempt's span: where it went and why (the decision's reason sentence). */
    private Span attemptSpan(Call call, Upstream u, FailoverPolicy.Attempt a) {
        Span span = tracing.call(call.span, "attempt " + u.name());
        span.setAttribute(Tracing.TIER, u.tier());
        span.setAttribute(Tracing.UPSTREAM, u.name());
        span.setAttribute(Tracing.REQUEST_MODEL, a.candidate().askModel());
        span.setAttribute(Tracing.ATTEMPT, call.attempts);
        span.setAttribute(Tracing.MOVE, a.move().name().toLowerCase(java.util.Locale.ROOT) + "/" + a.how().name().toLowerCase(java.util.Locale.ROOT));
        span.setAttribute(Tracing.REASON, a.reason());
        span.setAttribute(Tracing.SERVER_ADDRESS, u.provider().config().baseUrl().getHost());
        return span;
    }

    private void endAttemptSpan(Call call, FailoverLoop.Carried<Answer> carried, int failuresBefore) {
        Span span = call.attemptSpan;
        switch (carried) {
            case FailoverLoop.Answered<Answer> answered -> span.setAttribute(Tracing.OUTCOME, "answered");
            case FailoverLoop.Tried<Answer> tried -> {
                if (call.failures.size() > failuresBefore) {
                    Failure f = call.failures.get(call.failures.size() - 1).failure();
                    Tracing.failed(span, outcome(f), f.message());
                } else {
                    span.setAttribute(Tracing.OUTCOME, "not_used");
                }
            }
            case FailoverLoop.Stopped<Answer> stopped -> Tracing.failed(span, "stopped", stopped.giveUp().reason());
        }
        span.end();
        call.attemptSpan = Span.getInvalid();
    }

    private void beforeAttempt(Call call, Upstream u, FailoverPolicy.Attempt a) {
        if (!call.failures.isEmpty()) {
            FailoverPolicy.FailedAttempt last = call.failures.get(call.failures.size() - 1);
            String fromTier = upstreams.get(last.upstream()).tier();
            failovers.increment();
            if (a.move() == FailoverPolicy.Move.REDIRECT) {
                budget.recordRedirect();
            }
            metrics.failover(fromTier, u.tier(), outcome(last.failure()), a.move());
            failoverLog.add(new FailoverLog.Entry(clock.millis(), call.id, last.upstream(), u.name(), a.reason()));
            LOG.info(() -> call.id + " " + a.reason());
        }
        FailoverLoop.pause(a.delayMillis());
        call.attempts++;
        call.lastTier = u.tier();
    }

    private AttemptWorker.Event awaitEvent(Call call, AttemptWorker worker, Duration limit, String what) {
        long remaining = Math.max(0, call.deadlineMillis - clock.millis());
        long waitMillis = Math.min(limit.toMillis(), remaining);
        try {
            AttemptWorker.Event event = worker.poll(Duration.ofMillis(waitMillis).toNanos());
            if (event != null) {
                return event;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Failure timeout = new Failure.Unavailable(origin(worker.upstream()), worker.upstream().name(),
                Failure.UnavailableKind.TIMEOUT, what + " from " + worker.upstream().name() + " within " + waitMillis + " ms");
        worker.abort(timeout);
        return new AttemptWorker.Failed(timeout);
    }

    /**
     * Waits for a stream's first token as {@link FirstTokenDeadline} rules: a wait drawn from what this
     * (upstream, model) normally does, extended while the model is busy rather than hung, never past
     * the configured first-token timeout. A first token that arrives is recorded as a sample.
     */
    private AttemptWorker.Event awaitFirstToken(Call call, AttemptWorker worker, Upstream u, String model) {
        FirstTokenDeadline.Settings settings = tiers.get(u.tier()).timeouts().adaptive();
        long ceiling = Math.min(firstTokenTimeout(u, model).toMillis(), Math.max(0, call.deadlineMillis - clock.millis()));
        FirstTokenDeadline.Samples samples = u.firstTokens(model);
        OptionalLong p99 = samples.p99(settings.minSamples());
        long startNanos = System.nanoTime();
        long windowNanos = startNanos;
        long windowMillis = clock.millis();
        try {
            while (true) {
                // re-read each slice: the wait shortens when a probe fails while we wait
                boolean suspect = u.healthState() == HealthState.SUSPECT;
                long limit = FirstTokenDeadline.waitMillis(settings, ceiling, p99, suspect);
                long now = System.nanoTime();
                long waited = TimeUnit.NANOSECONDS.toMillis(now - startNanos);
                long inWindow = TimeUnit.NANOSECONDS.toMillis(now - windowNanos);
                long slice = Math.min(STREAM_CHECK.toMillis(), Math.max(0, Math.min(limit - inWindow, ceiling - waited)));
                AttemptWorker.Event event = worker.poll(TimeUnit.MILLISECONDS.toNanos(slice));
                if (event != null) {
                    if (event instanceof AttemptWorker.First) {
                        u.firstToken(model, upstreams.sloFor(u, model), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
                    }
                    return event;
                }
                now = System.nanoTime();
                waited = TimeUnit.NANOSECONDS.toMillis(now - startNanos);
                inWindow = TimeUnit.NANOSECONDS.toMillis(now - windowNanos);
                if (waited < ceiling && inWindow < limit) {
                    continue;
                }
                FirstTokenDeadline.Verdict verdict = FirstTokenDeadline.onSilence(waited, ceiling, p99,
                        samples.arrivedSince(windowNanos), upstreams.hostLag().stallSince(windowMillis));
                switch (verdict) {
                    case FirstTokenDeadline.KeepWaiting k -> {
                        metrics.firstTokenWait(u.name(), "extended");
                        LOG.fine(() -> call.id + " still waiting on " + u.name() + " for " + model + ": " + k.reason());
                        windowNanos = now;
                        windowMillis = clock.millis();
                    }
                    case FirstTokenDeadline.Cut c -> {
                        metrics.firstTokenWait(u.name(), waited >= ceiling ? "cut_at_ceiling" : suspect ? "cut_suspect" : "cut_adaptive");
                        Failure timeout = new Failure.Unavailable(origin(u), u.name(), Failure.UnavailableKind.TIMEOUT,
                                "no first token from " + u.name() + " for " + model + ": " + c.reason()
                                        + (suspect ? " (a probe of it failed)" : ""));
                        worker.abort(timeout);
                        return new AttemptWorker.Failed(timeout);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Failure gone = new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.RESET, "interrupted");
            worker.abort(gone);
            return new AttemptWorker.Failed(gone);
        }
    }

    private static Failure drainFailure(AttemptWorker worker, Upstream u) {
        try {
            AttemptWorker.Event e = worker.poll(0);
            if (e instanceof AttemptWorker.Failed f) {
                return f.failure();
            }
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
        return new Failure.Unavailable(origin(u), u.name(), Failure.UnavailableKind.MARKED_DOWN, u.name() + " was marked down");
    }

    private void recordFailure(Call call, Upstream u, FailoverPolicy.Candidate c, Failure failure) {
        recordFailure(call, u, c, failure, 0);
    }

    /**
     * A failed attempt: health and circuit state, the call's history, metrics, and its receipt line.
     * {@code streamedChunks > 0} means a stream that broke after reaching the client, which its
     * provider did work for and bills.
     */
    private void recordFailure(Call call, Upstream u, FailoverPolicy.Candidate c, Failure failure, int streamedChunks) {
        boolean billed = streamedChunks > 0;
        call.lines.add(new CallReceipt.Line(u.name(), u.tier(), providerOf(u, Map.of()), c.askModel(),
                billed ? "broken" : outcome(failure), billed, Optional.empty(), Optional.empty(), Optional.empty(),
                billed ? "streamed " + streamedChunks + " chunks, then: " + failure.message() : failure.message()));
        upstreams.failed(u, failure, c.askModel(), clock.millis());
        call.failures.add(new FailoverPolicy.FailedAttempt(u.name(), c.askModel(), failure));
        metrics.attempt(u.name(), outcome(failure));
        LOG.info(() -> call.id + " attempt on " + u.name() + " failed: " + FailoverPolicy.outcome(failure) + " ("
                + failure.message() + ")");
    }

    // ------------------------------------------------------------------ streams

    /** What the client has received so far. */
    private static final class Sent {
        final StringBuilder text = new StringBuilder();
        String id;
        String model;
        int contentChunks;
        boolean toolCalls;
        boolean finished;

        void add(StreamChunk chunk) {
            String content = chunk.contentDelta();
            text.append(content);
            if (!content.isEmpty()) {
                contentChunks++;
            }
            JsonNode delta = chunk.json().path("choices").path(0).path("delta");
            if (delta.has("tool_calls")) {
                toolCalls = true;
            }
            if (chunk.finishReason().isPresent()) {
                finished = true;
            }
            JsonNode answeredBy = chunk.json().get("model");
            if (answeredBy != null && answeredBy.isTextual() && !answeredBy.asText().isEmpty()) {
                model = answeredBy.asText(); // after a resumption, the model that wrote the tail
            }
        }
    }

    /** One upstream call's part of a stream the client receives. */
    private static final class Segment {
        final AttemptWorker worker;
        final Upstream upstream;
        final FailoverPolicy.Candidate candidate;
        final Map<String, String> upstreamHeaders;
        final int prefixChunks;
        final int chunksBefore;
        Usage usage;

        Segment(AttemptWorker worker, Upstream upstream, FailoverPolicy.Candidate candidate,
                Map<String, String> upstreamHeaders, int prefixChunks, int chunksBefore) {
            this.worker = worker;
            this.upstream = upstream;
            this.candidate = candidate;
            this.upstreamHeaders = upstreamHeaders;
            this.prefixChunks = prefixChunks;
            this.chunksBefore = chunksBefore;
        }

        /** A continuation: its usage counts the client's prefix as prompt, so the answer's usage is estimated. */
        boolean continuation() {
            return prefixChunks > 0;
        }

        /** The usage of the answer the client received, from this call's own usage. */
        Usage answerUsage(Usage own) {
            if (!continuation()) {
                return own;
            }
            // A continuation was asked with the prefix as prompt: move it back to the answer side.
            return new Usage(Math.max(0, own.promptTokens() - prefixChunks), own.completionTokens() + prefixChunks);
        }
    }

    private void streamChat(Call call, ServerResponse res, Conversation chat, boolean clientWantsUsage) {
        Answer answer = attempts(call, (u, c) -> AttemptWorker.stream(u, call.via(u), chat.withModel(c.askModel()).withStreamUsage(),
                watchStream(call, u, c.askModel())), true, null);
        if (answer == null) {
            giveUp(call, res);
            return;
        }
        AttemptWorker.First first = (AttemptWorker.First) answer.event();
        upstreams.served(answer.upstream(), answer.candidate().askModel(), first.upstreamHeaders());
        metrics.timeToFirstToken(answer.upstream().tier(), call.elapsed());
        metrics.genAi().firstChunk(genAiCall(call, answer.upstream(), providerOf(answer.upstream(), first.upstreamHeaders()),
                first.chunk().json().path("model").asText("")), call.elapsed());
        headers(res, call, answer.upstream(), first.upstreamHeaders(), first.chunk().json().path("model").asText(chat.model()),
                Optional.empty());
        ClientStream client = new ClientStream(res, call.api, chat.model(), clientWantsUsage);
        Sent sent = new Sent();
        sent.id = first.chunk().json().path("id").asText("chatcmpl-understudy");
        sent.model = chat.model();
        Segment segment = new Segment(answer.worker(), answer.upstream(), answer.candidate(), first.upstreamHeaders(), -1, 0);
        boolean rewrite = false;
        Usage clientUsage = null;
        try {
            client.open();
            client.write(first.chunk());
            sent.add(first.chunk());
            while (true) {
                AttemptWorker.Event event = segment.worker.next();
                if (Thread.currentThread().isInterrupted()) { // the server is stopping: as if the client went
                    throw new java.io.InterruptedIOException("request thread interrupted");
                }
                switch (event) {
                    case AttemptWorker.Chunk c -> {
                        StreamChunk out = rewrite ? rewrite(c.chunk(), sent) : c.chunk();
                        if (c.chunk().usage().isPresent()) {
                            segment.usage = c.chunk().usage().get();
                            clientUsage = segment.answerUsage(segment.usage);
                            if (out != null && segment.continuation()) {
                                out = withUsage(out, clientUsage);
                            }
                        }
                        if (out != null) {
                            client.write(out);
                            sent.add(out);
                        }
                    }
                    case AttemptWorker.End ignored -> {
                        segment.upstream.succeeded(segment.candidate.askModel(), segment.worker.elapsedMillis());
                        client.complete("understudy-tier=" + segment.upstream.tier() + " upstream=" + segment.upstream.name()
                                + " model=" + sent.model + " request-id=" + call.id);
                        answered(call, segment.upstream, segment.candidate.askModel(), segment.upstreamHeaders, sent.model,
                                Optional.ofNullable(segment.usage), "ok", null);
                        succeeded(call, segment.upstream, sent.model, Optional.ofNullable(clientUsage),
                                segment.continuation());
                        return;
                    }
                    case AttemptWorker.Failed f -> {
                        if (sent.finished) {
                            // the answer was complete; only the end marker or usage went missing
                            recordFailure(call, segment.upstream, segment.candidate, f.failure());
                            answered(call, segment.upstream, segment.candidate.askModel(), segment.upstreamHeaders, sent.model,
                                    Optional.ofNullable(segment.usage), "ok", "the answer was complete; its end went missing");
                            client.complete("understudy-finalised model=" + sent.model + " request-id=" + call.id);
                            succeeded(call, segment.upstream, sent.model, Optional.ofNullable(clientUsage),
                                    segment.continuation());
                            return;
                        }
                        recordFailure(call, segment.upstream, segment.candidate, f.failure(),
                                Math.max(1, sent.contentChunks - segment.chunksBefore));
                        Answer resumed = resume(call, chat, sent);
                        if (resumed == null) {
                            client.fail(f.failure());
                            failed.increment();
                            metrics.request(segment.upstream.tier(), "stream_error", call.elapsed());
                            finish(call, "stream_error", Optional.of(sent.model), Optional.empty(), false);
                            return;
                        }
                        segment = new Segment(resumed.worker(), resumed.upstream(), resumed.candidate(),
                                resumed.upstreamHeaders(), resumed.prefixChunks(), sent.contentChunks);
                        rewrite = true;
                        for (StreamChunk pending : resumed.pending()) {
                            client.write(pending);
                            sent.add(pending);
                        }
                    }
                    case AttemptWorker.First ignored -> throw new IllegalStateException("a second first chunk");
                    case AttemptWorker.Completed ignored -> throw new IllegalStateException("a whole answer in a stream");
                    case AttemptWorker.Embedded ignored -> throw new IllegalStateException("embeddings in a stream");
                }
            }
        } catch (java.io.IOException | RuntimeException clientGone) {
            segment.worker.abort(new Failure.Unavailable(Origin.LOCAL, "client", Failure.UnavailableKind.RESET, "client went away"));
            metrics.request(segment.upstream.tier(), "client_closed", call.elapsed());
            answered(call, segment.upstream, segment.candidate.askModel(), segment.upstreamHeaders, sent.model,
                    Optional.empty(), "client_closed", "the client went away after " + sent.contentChunks + " chunks");
            finish(call, "client_closed", Optional.of(sent.model), Optional.empty(), false);
        }
    }

    /** A chunk with its usage block replaced. */
    private static StreamChunk withUsage(StreamChunk chunk, Usage usage) {
        ObjectNode json = chunk.json().deepCopy();
        json.set("usage", usage.toOpenAi());
        return StreamChunk.of(json);
    }

    /** Hands a stream its request thread reads to the {@link StreamWatcher}, which runs {@link #checkStream} each tick. */
    private AttemptWorker.Watch watchStream(Call call, Upstream upstream, String model) {
        long idleTimeoutMillis = idleTimeout(upstream, model).toMillis();
        return worker -> streamWatcher.watch(() -> worker.watching() && checkStream(call, worker, upstream, idleTimeoutMillis));
    }

    /**
     * Checks a stream its request thread reads, and aborts it when it stalled: silent past its idle
     * timeout, or, on an upstream that probes marked down, overdue (silent well past its own pace) or
     * silent for {@link #SILENT_ON_DOWN}. The second is what rescues a stream from a dead relay at the
     * verdict, not at the idle timeout (30 s as shipped). A stream that is overdue tells its
     * upstream's health, which suspects the upstream when its streams fall quiet together (see
     * {@link InstanceHealth}). The request thread, reading, sees the abort as its next event. False
     * when it aborted the stream: no more checks.
     */
    private boolean checkStream(Call call, AttemptWorker worker, Upstream upstream, long idleTimeoutMillis) {
        long idleMillis = Math.min(idleTimeoutMillis, Math.max(0, call.deadlineMillis - clock.millis()));
        if (worker.overdue()) {
            upstreams.streamOverdue(upstream);
        }
        if (upstream.healthState() == HealthState.DOWN) {
            Failure down = new Failure.Unavailable(origin(upstream), upstream.name(), Failure.UnavailableKind.MARKED_DOWN,
                    "stream from " + upstream.name() + " silent for " + TimeUnit.NANOSECONDS.toMillis(worker.silentNanos())
                            + " ms on an upstream marked down");
            // the verdict's own sweep may have moved it already: then its reader has the failure
            if (worker.abortIfSilentFor(SILENT_ON_DOWN.toMillis(), down)) {
                metrics.movedAtMarkDown(upstream.name(), "resumed", 1);
                return false;
            }
        }
        if (worker.silentNanos() >= TimeUnit.MILLISECONDS.toNanos(idleMillis)) {
            worker.abort(new Failure.Unavailable(origin(upstream), upstream.name(), Failure.UnavailableKind.TIMEOUT,
                    "stream from " + upstream.name() + " stalled for " + idleMillis + " ms"));
            return false;
        }
        return true;
    }

    /**
     * Resumes a stream that broke after the client received its first byte, through the one attempt
     * loop: the policy decides whether it can be resumed, where, and how (continuation by prefill, or a
     * replay forwarded only past the text already sent and only if it begins with exactly that text).
     * Null when it cannot be: the caller ends the stream with the original error (never a prefill
     * rejection in its place).
     */
    private Answer resume(Call call, Conversation chat, Sent sent) {
        call.recoveries++;
        FailoverPolicy.Resumption state = new FailoverPolicy.Resumption(sent.toolCalls, call.recoveries,
                config.maxStreamRecoveries(), model -> config.ruleFor(model).map(AgentConfig.ModelRule::prefill).orElse(false),
                java.util.Collections.unmodifiableSet(call.prefillRejected));
        Answer resumed = attempts(call, null, true, new Resuming(chat, sent, state));
        if (resumed == null) {
            FailoverPolicy.GiveUp g = call.giveUp;
            call.giveUp = null; // the stream ends with its own error, not this one
            if (g != null && !g.code().equals("diverged")) {
                metrics.streamRecovery("none", g.code().equals("exhausted") ? "no_target" : g.code());
                LOG.info(() -> call.id + " stream not resumed: " + g.reason());
            }
        }
        return resumed;
    }

    /**
     * Resumes on {@code u} with the text already sent as an assistant prefill. A target that refuses
     * the prefill (400) is remembered and replayed on at once: the refusal is not the stream's error.
     */
    private FailoverLoop.Carried<Answer> continuation(Call call, Upstream u, FailoverPolicy.Candidate c, Resuming resuming) {
        String model = c.askModel();
        Sent sent = resuming.sent();
        AttemptWorker worker = AttemptWorker.stream(u, call.via(u), resuming.chat().withModel(model).withStreamUsage()
                .withAssistantPrefill(sent.text.toString()), watchStream(call, u, model));
        AttemptWorker.Event event = awaitFirstToken(call, worker, u, model);
        if (refusedUnconfirmed(call, u, c, worker, event)) {
            return TRIED;
        }
        if (event instanceof AttemptWorker.First first && worker.commit()) {
            List<StreamChunk> pending = new ArrayList<>();
            StreamChunk out = rewrite(first.chunk(), sent);
            if (out != null) {
                pending.add(out);
            }
            metrics.streamRecovery("continuation", "ok");
            recovered.increment();
            LOG.info(() -> call.id + " stream resumed by continuation on " + u.name());
            return new FailoverLoop.Answered<>(new Answer(worker, u, c, first, first.upstreamHeaders(), pending, sent.contentChunks));
        }
        Failure f = event instanceof AttemptWorker.Failed failed ? failed.failure() : drainFailure(worker, u);
        if (!(f instanceof Failure.ClientError)) {
            recordFailure(call, u, c, f);
            return TRIED;
        }
        call.prefillRejected.add(u.name() + "|" + model);
        u.succeeded(model, worker.elapsedMillis());
        call.lines.add(new CallReceipt.Line(u.name(), u.tier(), providerOf(u, Map.of()), model, "prefill_rejected",
                false, Optional.empty(), Optional.empty(), Optional.empty(), f.message()));
        metrics.streamRecovery("continuation", "rejected");
        LOG.info(() -> call.id + " " + u.name() + " rejected the prefill (" + f.message() + "); replaying instead");
        if (!u.breaker().tryAcquirePermit()) {
            call.excluded.add(u.name());
            return TRIED;
        }
        return replay(call, u, c, resuming);
    }

    /**
     * Resumes on {@code u} by asking again and forwarding the answer only past the text already sent,
     * and only if it begins with exactly that text. Stopped when it diverges (splicing would corrupt
     * the answer); tried when the upstream failed (another may serve).
     */
    private FailoverLoop.Carried<Answer> replay(Call call, Upstream u, FailoverPolicy.Candidate c, Resuming resuming) {
        Sent sent = resuming.sent();
        AttemptWorker worker = AttemptWorker.stream(u, call.via(u), resuming.chat().withModel(c.askModel()).withStreamUsage(),
                watchStream(call, u, c.askModel()));
        ReplayMatcher matcher = new ReplayMatcher(sent.text.toString());
        AttemptWorker.Event event = awaitFirstToken(call, worker, u, c.askModel());
        if (refusedUnconfirmed(call, u, c, worker, event)) {
            return TRIED;
        }
        Map<String, String> headers = Map.of();
        int received = 0;
        while (true) {
            StreamChunk chunk;
            switch (event) {
                case AttemptWorker.First f -> {
                    chunk = f.chunk();
                    headers = f.upstreamHeaders();
                }
                case AttemptWorker.Chunk ch -> chunk = ch.chunk();
                case AttemptWorker.Failed f -> {
                    recordFailure(call, u, c, f.failure(), received);
                    return TRIED;
                }
                default -> {
                    worker.abort(new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.RESET, "replay too short"));
                    return diverged(call, u, c, headers, "the replay ended before reaching the text already sent");
                }
            }
            received++;
            if (!chunk.isUsageOnly()) {
                ReplayMatcher.Result result = matcher.feed(chunk.contentDelta());
                if (result instanceof ReplayMatcher.Diverged d) {
                    worker.abort(new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.RESET, "replay diverged"));
                    return diverged(call, u, c, headers, "the replay diverged at character " + d.at() + " from the text already sent");
                }
                if (result instanceof ReplayMatcher.Passed p && worker.commit()) {
                    List<StreamChunk> pending = new ArrayList<>();
                    ObjectNode json = chunk.json().deepCopy();
                    JsonNode delta = json.path("choices").path(0).path("delta");
                    if (delta instanceof ObjectNode d) {
                        d.put("content", p.remainder());
                        d.remove("role");
                    }
                    StreamChunk rest = rewrite(StreamChunk.of(json), sent);
                    if (rest != null && (!p.remainder().isEmpty() || rest.finishReason().isPresent())) {
                        pending.add(rest);
                    }
                    metrics.streamRecovery("replay", "ok");
                    recovered.increment();
                    LOG.info(() -> call.id + " stream resumed by a matching replay on " + u.name());
                    return new FailoverLoop.Answered<>(new Answer(worker, u, c, event, headers, pending, -1));
                }
            }
            event = worker.next();
        }
    }

    /** A replay that does not match what the client has: billed, never spliced, and the end of resuming. */
    private FailoverLoop.Carried<Answer> diverged(Call call, Upstream u, FailoverPolicy.Candidate c, Map<String, String> headers, String why) {
        metrics.streamRecovery("replay", "diverged");
        answered(call, u, c.askModel(), headers, c.askModel(), Optional.empty(), "replay_diverged", why + "; not spliced");
        LOG.info(() -> call.id + " replay on " + u.name() + ": " + why + "; not spliced");
        Failure last = call.failures.isEmpty() ? noAnswer() : call.failures.get(call.failures.size() - 1).failure();
        return new FailoverLoop.Stopped<>(new FailoverPolicy.GiveUp(last, why, "diverged"));
    }

    /**
     * A resumed stream's chunk as part of the client's stream: the same id, no second role chunk, and
     * the model of the call that writes it (the client is told which model wrote the tail). It no
     * longer carries an upstream event: an Anthropic client gets the tail translated, fitted onto
     * what it already has (a second message_start would end its message), and a carrier is dropped.
     */
    private static StreamChunk rewrite(StreamChunk chunk, Sent sent) {
        if (chunk.isCarrier()) {
            return null;
        }
        JsonNode delta = chunk.json().path("choices").path(0).path("delta");
        if (delta.has("role") && chunk.contentDelta().isEmpty() && !delta.has("tool_calls") && chunk.finishReason().isEmpty()) {
            return null;
        }
        ObjectNode json = chunk.json().deepCopy();
        json.put("id", sent.id);
        JsonNode d = json.path("choices").path(0).path("delta");
        if (d instanceof ObjectNode od) {
            od.remove("role");
        }
        return StreamChunk.of(json);
    }

    // ------------------------------------------------------------------ answers, errors, accounting

    private void headers(ServerResponse res, Call call, Upstream u, Map<String, String> upstreamHeaders, String model,
                         Optional<BigDecimal> cost) {
        res.header(HeaderNames.create("x-request-id"), call.id);
        res.header(HeaderNames.create("x-understudy-tier"), u.tier());
        res.header(HeaderNames.create("x-understudy-upstream"), u.name());
        res.header(HeaderNames.create("x-understudy-attempts"), String.valueOf(call.attempts));
        if (receipts.capacity() > 0) {
            res.header(HeaderNames.create("x-understudy-receipt"), "/v1/receipts/" + call.id);
        }
        if (u.kind() == UpstreamCircuits.Kind.RELAY) {
            if ("true".equals(upstreamHeaders.get("x-understudy-leader"))) {
                try {
                    acceptLeaderClaim.test(u.name(), Long.parseLong(upstreamHeaders.getOrDefault("x-understudy-epoch", "0")));
                } catch (NumberFormatException ignored) {
                    // not our relay's header: no claim to judge
                }
            }
            upstreamHeaders.forEach((name, value) -> {
                if (!name.equals("x-understudy-error-origin") && !name.equals("x-understudy-receipt")) {
                    res.header(HeaderNames.create(name), value);
                }
            });
        } else {
            res.header(HeaderNames.create("x-understudy-provider"), u.provider().name());
            res.header(HeaderNames.create("x-understudy-model"), HeaderValues.safe(model));
            cost.ifPresent(c -> res.header(HeaderNames.create("x-understudy-cost-usd"), c.toPlainString()));
        }
    }

    /** The provider behind an upstream: a direct one's own, or the one a relay named in its answer. */
    private static Optional<String> providerOf(Upstream u, Map<String, String> upstreamHeaders) {
        if (u.kind() == UpstreamCircuits.Kind.DIRECT) {
            return Optional.of(u.provider().name());
        }
        return Optional.ofNullable(upstreamHeaders.get("x-understudy-provider"));
    }

    /**
     * Accounts one call the provider did work for: usage metrics and the call's receipt line. The
     * cost is the relay's own when it stated one (its fee included), else priced from the agent's
     * price table; unknown when there is no usage or no price.
     */
    private CallReceipt.Line answered(Call call, Upstream u, String askModel, Map<String, String> upstreamHeaders,
                                      String answeredModel, Optional<Usage> usage, String outcome, String detail) {
        Optional<String> provider = providerOf(u, upstreamHeaders);
        String model = u.kind() == UpstreamCircuits.Kind.RELAY ? upstreamHeaders.getOrDefault("x-understudy-model", answeredModel)
                : answeredModel;
        Optional<BigDecimal> cost = Optional.empty();
        if (usage.isPresent()) {
            cost = relayCost(upstreamHeaders);
            if (cost.isEmpty() && provider.isPresent()) {
                cost = config.prices().cost(provider.get(), model, usage.get());
            }
            metrics.usage(u.tier(), provider.orElse("unknown"), model, usage.get(), cost.orElse(null));
        }
        Optional<String> relayReceipt = Optional.ofNullable(upstreamHeaders.get("x-understudy-receipt"))
                .map(path -> u.name() + " " + path);
        CallReceipt.Line line = new CallReceipt.Line(u.name(), u.tier(), provider, askModel, outcome, true, usage, cost,
                relayReceipt, detail);
        call.lines.add(line);
        return line;
    }

    private static Optional<BigDecimal> relayCost(Map<String, String> upstreamHeaders) {
        String header = upstreamHeaders.get("x-understudy-cost-usd");
        if (header == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(new BigDecimal(header));
        } catch (NumberFormatException ignored) {
            return Optional.empty(); // a third-party relay's header we cannot read: no cost rather than a wrong one
        }
    }

    private void succeeded(Call call, Upstream u, String model, Optional<Usage> usage, boolean usageEstimated) {
        answered.increment();
        metrics.request(u.tier(), "ok", call.elapsed());
        Optional<String> provider = call.lines.isEmpty() ? Optional.empty() : call.lines.get(call.lines.size() - 1).provider();
        io.understudy.core.GenAiMetrics.Call served = genAiCall(call, u, provider, model);
        metrics.genAi().operation(served, call.elapsed(), Optional.empty());
        usage.ifPresent(x -> metrics.genAi().tokens(served, x));
        finish(call, "ok", Optional.of(model), usage, usageEstimated);
    }

    /**
     * The request as the GenAI conventions describe it: served (or last tried) through {@code u}, by
     * {@code provider} (the relay's, when it said; a direct provider's own name), at {@code u}'s address.
     */
    private io.understudy.core.GenAiMetrics.Call genAiCall(Call call, Upstream u, Optional<String> provider, String responseModel) {
        return new io.understudy.core.GenAiMetrics.Call(io.understudy.core.GenAiMetrics.Call.operationOf(call.endpoint),
                provider.orElse(u.name()), call.requestedModel, responseModel, u.provider().config().baseUrl());
    }

    /** Ends the call's span and files its receipt. */
    private void finish(Call call, String outcome, Optional<String> model, Optional<Usage> usage, boolean usageEstimated) {
        if ("ok".equals(outcome)) {
            call.span.setAttribute(Tracing.OUTCOME, outcome);
        } else {
            Tracing.failed(call.span, outcome, call.giveUp == null ? outcome : call.giveUp.reason());
        }
        model.ifPresent(m -> call.span.setAttribute(Tracing.RESPONSE_MODEL, m));
        usage.ifPresent(u -> {
            call.span.setAttribute(Tracing.INPUT_TOKENS, u.promptTokens());
            call.span.setAttribute(Tracing.OUTPUT_TOKENS, u.completionTokens());
        });
        call.span.setAttribute(Tracing.TIER, call.lastTier);
        call.span.setAttribute(Tracing.ATTEMPT, call.attempts);
        call.span.end();
        if (receipts.capacity() == 0) {
            return;
        }
        receipts.add(call.id, new CallReceipt(call.id, clock.instant().getEpochSecond(), call.endpoint, call.requestedModel,
                call.stream, outcome, model, usage, usageEstimated, call.lines, call.elapsed().toMillis(), call.requirement.toString()));
    }

    private void giveUp(Call call, ServerResponse res) {
        FailoverPolicy.GiveUp g = call.giveUp;
        if (g == null) {
            return;
        }
        if (!call.failures.isEmpty()) { // an upstream was called: a GenAI operation that failed
            Upstream last = upstreams.get(call.failures.get(call.failures.size() - 1).upstream());
            metrics.genAi().operation(genAiCall(call, last, Optional.empty(), ""), call.elapsed(), Optional.of(outcome(g.failure())));
        }
        call.giveUp = null;
        call.span.setAttribute(Tracing.REASON, g.reason());
        failed.increment();
        LOG.info(() -> call.id + " gave up: " + g.reason());
        metrics.request(call.lastTier, outcome(g.failure()), call.elapsed());
        if (!res.isSent()) {
            res.header(HeaderNames.create("x-understudy-attempts"), String.valueOf(call.attempts));
            res.header(HeaderNames.create("x-understudy-decision"), headerSafe(g.reason()));
        }
        Failure failure = g.failure();
        if (!call.requirement.isNone() && call.failures.isEmpty()) {
            failure = Requirement.unmet(upstreams.unmetRequirement(call.models, call.requirement)).failure();
        }
        if (!call.notes.isEmpty() && !(failure instanceof Failure.ClientError)) {
            failure = withNotes(failure, call.notes);
        }
        if (failure instanceof Failure.ClientError c && c.code() != null && c.code().startsWith("requirement_")) {
            metrics.requirementRefusal("-", "refused");
        }
        finish(call, outcome(failure), Optional.empty(), Optional.empty(), false);
        ApiErrors.send(res, call.api, failure, call.id);
    }

    private void reject(ServerResponse res, Api api, Call call, Failure failure) {
        failed.increment();
        metrics.request(call == null ? "none" : call.lastTier, outcome(failure), call == null ? Duration.ZERO : call.elapsed());
        if (call != null) {
            finish(call, outcome(failure), Optional.empty(), Optional.empty(), false);
        }
        ApiErrors.send(res, api, failure, call == null ? null : call.id);
    }

    private static Failure withNotes(Failure f, List<String> notes) {
        String message = f.message() + " (" + String.join("; ", notes) + ")";
        return switch (f) {
            case Failure.ClientError c -> c;
            case Failure.Retryable r -> new Failure.Retryable(r.origin(), r.upstream(), r.status(), r.code(), message);
            case Failure.RateLimited r -> new Failure.RateLimited(r.origin(), r.upstream(), r.retryAfter(), message, r.model());
            case Failure.Unavailable u -> new Failure.Unavailable(u.origin(), u.upstream(), u.kind(), message);
        };
    }

    // ------------------------------------------------------------------ models, fallbacks, timeouts

    /** The requested model, then its fallbacks (config, then the body's), minus those the cost guard refuses. */
    private List<String> modelChain(String requested, List<String> bodyFallbacks, List<String> notes) {
        Optional<AgentConfig.ModelRule> rule = config.ruleFor(requested);
        LinkedHashSet<String> wanted = new LinkedHashSet<>();
        wanted.add(requested);
        wanted.addAll(bodyFallbacks);
        rule.ifPresent(r -> wanted.addAll(r.fallbacks()));
        List<String> chain = new ArrayList<>();
        Optional<Price> base = config.prices().priceForModel(requested);
        boolean allowExpensive = rule.map(AgentConfig.ModelRule::allowExpensive).orElse(false);
        for (String model : wanted) {
            if (!model.equals(requested) && base.isPresent() && !allowExpensive) {
                Optional<Price> price = config.prices().priceForModel(model);
                if (price.isPresent() && base.get().weight().signum() > 0) {
                    double ratio = price.get().weight().doubleValue() / base.get().weight().doubleValue();
                    if (ratio > config.costGuardRatio()) {
                        notes.add(String.format(java.util.Locale.ROOT,
                                "fallback %s skipped by the cost guard: %.1fx the price of %s (limit %.1fx; set allow-expensive-fallbacks to permit)",
                                model, ratio, requested, config.costGuardRatio()));
                        continue;
                    }
                }
            }
            chain.add(model);
        }
        return List.copyOf(chain);
    }

    /** Reads and removes the optional {@code fallbacks} list (LiteLLM's and Bifrost's convention). */
    private static List<String> takeFallbacks(ObjectNode body) {
        JsonNode node = body.remove("fallbacks");
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new FailureException(Failure.ClientError.invalid("fallbacks", "'fallbacks' must be an array of model names"));
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : node) {
            if (!n.isTextual() || n.asText().isBlank()) {
                throw new FailureException(Failure.ClientError.invalid("fallbacks", "'fallbacks' must be an array of model names"));
            }
            out.add(n.asText());
        }
        if (out.size() > 10) {
            throw new FailureException(Failure.ClientError.invalid("fallbacks", "at most 10 fallback models"));
        }
        return out;
    }

    private Duration firstTokenTimeout(Upstream u, String model) {
        return config.ruleFor(model).flatMap(AgentConfig.ModelRule::firstToken)
                .orElse(tiers.get(u.tier()).timeouts().firstToken());
    }

    private Duration idleTimeout(Upstream u, String model) {
        return config.ruleFor(model).flatMap(AgentConfig.ModelRule::idle).orElse(tiers.get(u.tier()).timeouts().idle());
    }

    private static Origin origin(Upstream u) {
        return u.kind() == UpstreamCircuits.Kind.RELAY ? Origin.RELAY : Origin.PROVIDER;
    }

    private static Failure noAnswer() {
        return new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.CONNECT_REFUSED, "no upstream answered");
    }

    /** Bounded outcome names for metrics. */
    static String outcome(Failure failure) {
        return switch (failure) {
            case Failure.ClientError c -> "client_error";
            case Failure.Retryable r -> r.origin() == Origin.PROVIDER ? "provider_error" : "upstream_error";
            case Failure.RateLimited ignored -> "rate_limited";
            case Failure.Unavailable u -> u.kind().code();
        };
    }

    private static String headerSafe(String text) {
        StringBuilder sb = new StringBuilder(Math.min(text.length(), 300));
        for (int i = 0; i < text.length() && sb.length() < 300; i++) {
            char ch = text.charAt(i);
            sb.append(ch >= 0x20 && ch < 0x7f ? ch : ' ');
        }
        return sb.toString();
    }
}
