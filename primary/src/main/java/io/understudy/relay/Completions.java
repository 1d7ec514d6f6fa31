package io.understudy.relay;

import io.understudy.core.receipt.Recent;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.anthropic.AnthropicTranslation;
import io.understudy.core.anthropic.MessagesRequest;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.error.Origin;
import io.understudy.core.pricing.Price;
import io.understudy.core.provider.ChatCompletion;
import io.understudy.core.provider.ChatStream;
import io.understudy.core.provider.Embeddings;
import io.understudy.core.routing.Router;
import io.understudy.core.server.Api;
import io.understudy.core.server.ApiErrors;
import io.understudy.core.server.ClientStream;
import io.understudy.core.server.RequestBodies;
import io.understudy.core.wire.ChatRequest;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.StreamChunk;
import io.understudy.core.wire.Usage;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The model endpoints. Each request walks its route's targets in order; an upstream failure before
 * the first byte reached the client moves on to the next target (client errors never do). After
 * the first byte, a broken upstream ends the stream with an in-band error event, never with a
 * truncated answer that looks complete.
 */
final class Completions {
    private static final Logger LOG = Logger.getLogger(Completions.class.getName());

    private final RelayConfig config;
    private final Router router;
    private final RelayMetrics metrics;
    private final Recent<Receipt> receipts;
    private final Clock clock;

    Completions(RelayConfig config, Router router, RelayMetrics metrics, Recent<Receipt> receipts, Clock clock) {
        this.config = config;
        this.router = router;
        this.metrics = metrics;
        this.receipts = receipts;
        this.clock = clock;
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

        Call(String endpoint, Api api) {
            this.endpoint = endpoint;
            this.api = api;
        }

        Duration elapsed() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }
    }

    // ------------------------------------------------------------------ endpoints

    void chat(ServerRequest req, ServerResponse res) {
        Call call = new Call("chat", Api.OPENAI);
        try {
            ChatRequest chat = ChatRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            logPrompt(call, chat.body());
            serveChat(call, res, chat, chat.includeUsage());
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    void messages(ServerRequest req, ServerResponse res) {
        Call call = new Call("messages", Api.ANTHROPIC);
        try {
            MessagesRequest messages = MessagesRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            logPrompt(call, messages.body());
            serveChat(call, res, new ChatRequest(AnthropicTranslation.toOpenAiRequest(messages)), true);
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    void embeddings(ServerRequest req, ServerResponse res) {
        Call call = new Call("embeddings", Api.OPENAI);
        try {
            EmbeddingsRequest request = EmbeddingsRequest.parse(RequestBodies.readJson(req, config.maxBodyBytes()));
            Failure last = null;
            List<Router.Attempt> plan = plan(request.model());
            for (int i = 0; i < plan.size(); i++) {
                Router.Attempt attempt = plan.get(i);
                try {
                    Embeddings answer = attempt.provider().embed(request.withModel(attempt.model()));
                    recordAttempt(call, attempt, "ok", null);
                    Receipt receipt = receipt(call, request.model(), attempt.provider().name(), answer.model(), false,
                            answer.usage());
                    commonHeaders(res, call, attempt.provider().name(), answer.model());
                    costHeader(res, receipt);
                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                    res.send(answer.bytes());
                    finish(call, "ok", receipt);
                    return;
                } catch (FailureException e) {
                    last = e.failure();
                    if (!tryNext(call, attempt, last, i < plan.size() - 1)) {
                        break;
                    }
                }
            }
            fail(call, res, last);
        } catch (FailureException e) {
            fail(call, res, e.failure());
        }
    }

    // ------------------------------------------------------------------ the attempt loop

    private void serveChat(Call call, ServerResponse res, ChatRequest chat, boolean clientWantsUsage) {
        List<Router.Attempt> plan = plan(chat.model());
        Failure last = null;
        for (int i = 0; i < plan.size(); i++) {
            Router.Attempt attempt = plan.get(i);
            ChatRequest upstream = chat.withModel(attempt.model());
            try {
                if (chat.stream()) {
                    ChatStream stream = attempt.provider().stream(upstream.withStreamUsage());
                    StreamChunk first;
                    try {
                        first = stream.next();
                        if (first == null) {
                            throw new FailureException(new Failure.Unavailable(Origin.PROVIDER, attempt.provider().name(),
                                    Failure.UnavailableKind.BROKEN_STREAM, "stream ended before the first chunk"));
                        }
                    } catch (RuntimeException e) {
                        stream.close();
                        throw e;
                    }
                    recordAttempt(call, attempt, "ok", null);
                    relayStream(call, res, chat, attempt, stream, first, clientWantsUsage);
                } else {
                    ChatCompletion answer = attempt.provider().complete(upstream);
                    recordAttempt(call, attempt, "ok", null);
                    Receipt receipt = receipt(call, chat.model(), attempt.provider().name(), answer.model(), false,
                            answer.usage());
                    commonHeaders(res, call, attempt.provider().name(), answer.model());
                    costHeader(res, receipt);
                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                    res.send(call.api == Api.OPENAI ? answer.bytes()
                            : Json.bytes(AnthropicTranslation.toAnthropicResponse(answer.json())));
                    finish(call, "ok", receipt);
                    logAnswer(call, answer.json());
                }
                return;
            } catch (FailureException e) {
                last = e.failure();
                if (!tryNext(call, attempt, last, i < plan.size() - 1)) {
                    break;
                }
            }
        }
        fail(call, res, last);
    }

    private List<Router.Attempt> plan(String model) {
        Router.Result result = router.plan(model);
        if (result.noRoute().isPresent()) {
            throw new FailureException(new Failure.ClientError(Origin.LOCAL, "local", 404, "invalid_request_error",
                    "model_not_found", "model", result.noRoute().get()));
        }
        return result.attempts();
    }

    /**
     * Records a failed attempt and says whether to try the next target. Client errors end the
     * request (the same request would fail anywhere), except the provider refusing the relay's own
     * credentials, which is the relay's problem, not the caller's.
     */
    private boolean tryNext(Call call, Router.Attempt attempt, Failure failure, boolean moreTargets) {
        String outcome = outcomeOf(failure);
        recordAttempt(call, attempt, outcome, failure.message());
        if (failure instanceof Failure.ClientError c && !(c.status() == 401 || c.status() == 403)) {
            return false;
        }
        if (moreTargets) {
            metrics.fallback(attempt.provider().name(), outcome);
            LOG.info(() -> call.id + " " + attempt.provider().name() + " failed (" + outcome + "), trying next target");
        }
        return true;
    }

    // ------------------------------------------------------------------ streaming

    private void relayStream(Call call, ServerResponse res, ChatRequest chat, Router.Attempt attempt, ChatStream stream,
                             StreamChunk first, boolean clientWantsUsage) {
        String provider = attempt.provider().name();
        String answeredModel = first.json().path("model").asText(attempt.model());
        metrics.timeToFirstToken(provider, call.elapsed());
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
                String total = receipt.total().map(BigDecimal::toPlainString).orElse("unknown");
                client.complete("understudy-cost-usd=" + total + " request-id=" + call.id);
            } else {
                outcome = "stream_broken";
                Failure failure = broken;
                recordAttempt(call, attempt, outcomeOf(failure), failure.message());
                LOG.warning(() -> call.id + " stream from " + provider + " broke after the first byte: " + failure.message());
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
                model, stream, usage, price, cost, config.feePercent(), List.copyOf(call.attempts), call.elapsed().toMillis());
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
        res.header(HeaderNames.create("x-understudy-model"), model);
        res.header(HeaderNames.create("x-understudy-role"), config.role().wireName());
        res.header(HeaderNames.create("x-understudy-receipt"), "/v1/receipts/" + call.id);
    }

    private static void costHeader(ServerResponse res, Receipt receipt) {
        receipt.total().ifPresent(total -> res.header(HeaderNames.create("x-understudy-cost-usd"), total.toPlainString()));
    }

    private void finish(Call call, String outcome, Receipt receipt) {
        metrics.request(call.endpoint, outcome, call.elapsed());
        LOG.info(() -> call.id + " " + call.endpoint + " model=" + receipt.model() + " provider=" + receipt.provider()
                + " outcome=" + outcome + " ms=" + call.elapsed().toMillis() + " tokens_in=" + receipt.usage().promptTokens()
                + " tokens_out=" + receipt.usage().completionTokens()
                + " cost_usd=" + receipt.total().map(BigDecimal::toPlainString).orElse("unknown"));
    }

    private void fail(Call call, ServerResponse res, Failure failure) {
        metrics.request(call.endpoint, outcomeOf(failure), call.elapsed());
        LOG.info(() -> call.id + " " + call.endpoint + " failed status=" + failure.httpStatus() + " code="
                + failure.errorCode() + " origin=" + failure.origin().wireName());
        if (failure.origin() == Origin.PROVIDER && !call.attempts.isEmpty() && !res.isSent()) {
            // which provider and model failed, so a caller binds a Retry-After to them on every path it has
            Receipt.AttemptRecord last = call.attempts.get(call.attempts.size() - 1);
            res.header(HttpTransport.ERROR_PROVIDER, last.provider());
            res.header(HttpTransport.ERROR_MODEL, last.model());
        }
        ApiErrors.send(res, call.api, failure, call.id);
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
            LOG.info(() -> call.id + " prompt " + Json.text(body));
        }
    }

    private void logAnswer(Call call, ObjectNode body) {
        if (config.logPrompts()) {
            LOG.info(() -> call.id + " answer " + Json.text(body));
        }
    }
}
