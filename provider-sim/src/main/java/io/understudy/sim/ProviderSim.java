package io.understudy.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.sim.http.SimExchange;
import io.understudy.sim.http.SimHttpServer;
import io.understudy.sim.http.SimRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A simulated LLM provider over real HTTP: OpenAI Chat Completions, embeddings and models, and
 * Anthropic Messages, streaming or not, with deterministic answers and selectable faults.
 */
public final class ProviderSim implements AutoCloseable {
    private static final int ONCE_KEYS_LIMIT = 100_000;

    private final SimConfig config;
    private final Clock clock;
    private final AttemptLog attempts;
    private final Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    /** The W3C {@code traceparent} of the latest chat requests that carried one (the last 1,000), oldest first. */
    private final java.util.Deque<String> traceparents = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final SimHttpServer server;
    /** A provider-wide fault on every n-th chat request (for models starting with {@code models}): a 429 or 5xx storm. */
    private volatile Storm storm;
    private final java.util.concurrent.atomic.AtomicLong stormCounter = new java.util.concurrent.atomic.AtomicLong();

    /** @param every 1 = every request, 2 = every second one, ... */
    private record Storm(FaultMode mode, int every, int retryAfterSeconds, String models) {
        boolean covers(String model) {
            return model.startsWith(models);
        }
    }

    private ProviderSim(SimConfig config, Clock clock) throws IOException {
        this.config = config;
        this.clock = clock;
        this.attempts = new AttemptLog(clock, 200_000);
        this.server = new SimHttpServer(config.host(), config.port(), this::handle);
    }

    public static ProviderSim start(SimConfig config) throws IOException {
        return new ProviderSim(config, Clock.systemUTC());
    }

    public int port() {
        return server.port();
    }

    public String baseUrl() {
        return "http://" + config.host() + ":" + port();
    }

    public AttemptLog attempts() {
        return attempts;
    }

    /** The trace context callers sent with their latest chat requests, oldest first. */
    public List<String> traceparents() {
        return List.copyOf(traceparents);
    }

    @Override
    public void close() {
        server.close();
    }

    private enum Api { OPENAI, ANTHROPIC, RESPONSES }

    private void handle(SimRequest request, SimExchange exchange) throws IOException {
        String route = request.method() + " " + request.path();
        switch (route) {
            case "GET /health", "GET /health/live", "GET /health/ready" ->
                    sendJson(exchange, 200, Json.object().put("status", "ok"), Map.of());
            case "GET /v1/models" -> sendJson(exchange, 200, models(), Map.of());
            case "GET /sim/attempts" -> sendJson(exchange, 200, attempts.toJson(), Map.of());
            case "DELETE /sim/attempts" -> {
                attempts.clear();
                sendJson(exchange, 200, Json.object().put("cleared", true), Map.of());
            }
            case "PUT /sim/storm" -> startStorm(request, exchange);
            case "DELETE /sim/storm" -> {
                storm = null;
                sendJson(exchange, 200, Json.object().put("storm", false), Map.of());
            }
            case "POST /v1/chat/completions" -> chat(request, exchange, Api.OPENAI);
            case "POST /v1/messages" -> chat(request, exchange, Api.ANTHROPIC);
            case "POST /v1/responses" -> chat(request, exchange, Api.RESPONSES);
            case "POST /v1/embeddings" -> embeddings(request, exchange);
            case "POST /v1/moderations" -> moderations(request, exchange);
            case "POST /v1/audio/speech" -> speech(request, exchange);
            case "POST /v1/audio/transcriptions" -> transcription(request, exchange);
            default -> {
                Api api = request.path().startsWith("/v1/messages") ? Api.ANTHROPIC
                        : request.path().startsWith("/v1/responses") ? Api.RESPONSES : Api.OPENAI;
                sendError(exchange, api, 404, "not_found_error", "not_found", "no route " + route, Map.of());
            }
        }
    }

    /**
     * Every {@code every}-th chat request for a model starting with {@code models} gets {@code mode}
     * (a 429 carries Retry-After {@code retryAfterSeconds}), until {@code DELETE /sim/storm}.
     */
    public void storm(FaultMode mode, int every, int retryAfterSeconds, String models) {
        storm = new Storm(mode, every, retryAfterSeconds, models);
    }

    /**
     * {@code PUT /sim/storm {"mode": "429-retry-after", "every": 2, "retry_after": 1}}; with
     * {@code "models": "limited-"} only models whose name starts so are hit (one model persistently
     * limited while the provider's other models answer).
     */
    private void startStorm(SimRequest request, SimExchange exchange) throws IOException {
        ObjectNode body = parseBody(request, exchange, Api.OPENAI);
        if (body == null) {
            return;
        }
        Optional<FaultMode> mode = FaultMode.parse(body.path("mode").asText(""));
        int every = body.path("every").asInt(1);
        int retryAfter = body.path("retry_after").asInt(1);
        if (mode.isEmpty() || every < 1 || retryAfter < 0) {
            sendError(exchange, Api.OPENAI, 400, "invalid_request_error", "invalid_storm",
                    "storm needs a known 'mode', 'every' >= 1 and 'retry_after' >= 0", Map.of());
            return;
        }
        String models = body.path("models").asText("");
        storm(mode.get(), every, retryAfter, models);
        sendJson(exchange, 200, Json.object().put("storm", true).put("mode", mode.get().wireName()).put("every", every)
                .put("models", models), Map.of());
    }

    // ------------------------------------------------------------------ chat

    private void chat(SimRequest request, SimExchange exchange, Api api) throws IOException {
        ObjectNode body = parseBody(request, exchange, api);
        if (body == null) {
            return;
        }
        String model = body.path("model").asText("");
        // a Responses request's input, seen as the messages the same conversation sends to chat
        JsonNode messages = api == Api.RESPONSES ? Answers.messagesOfResponses(body) : body.path("messages");
        JsonNode system = api == Api.RESPONSES ? null : body.get("system");
        if (model.isEmpty() || !messages.isArray() || messages.isEmpty()) {
            sendError(exchange, api, 400, "invalid_request_error", "invalid_request", api == Api.RESPONSES
                    ? "'model' and 'input' (a string or a non-empty array) are required"
                    : "'model' and a non-empty 'messages' array are required", Map.of());
            return;
        }
        if (api == Api.ANTHROPIC && !body.path("max_tokens").isIntegralNumber()) {
            sendError(exchange, api, 400, "invalid_request_error", "invalid_request", "max_tokens: Field required", Map.of());
            return;
        }
        Optional<FaultMode> mode = mode(request, model, exchange, api);
        if (mode.isEmpty()) {
            return;
        }
        FaultMode fault = mode.get();
        boolean stream = body.path("stream").asBoolean(false);
        String tag = request.header("x-sim-tag").orElse(null);
        String via = request.header("host").orElse("");
        boolean resent = request.header("x-understudy-resent").isPresent();
        request.header("traceparent").ifPresent(t -> {
            traceparents.addLast(t);
            if (traceparents.size() > 1_000) {
                traceparents.pollFirst();
            }
        });
        String apiName = switch (api) {
            case OPENAI -> "chat";
            case ANTHROPIC -> "messages";
            case RESPONSES -> "responses";
        };
        String prefill = Answers.prefill(messages);
        String digest = Answers.digestWithoutModel(body);

        switch (fault) {
            case RATE_LIMIT_RETRY_AFTER, RATE_LIMIT -> {
                attempts.record(apiName, model, fault, stream, "429", tag, via, resent, digest);
                Map<String, String> headers = fault == FaultMode.RATE_LIMIT
                        ? Map.of() : Map.of("Retry-After", request.header("x-sim-retry-after")
                        .orElse(storm != null ? String.valueOf(storm.retryAfterSeconds()) : "1"));
                sendError(exchange, api, 429, "rate_limit_error", "rate_limit_exceeded",
                        "Rate limit reached for " + model + " (simulated)", headers);
                return;
            }
            case ERROR_500_ONCE -> {
                String key = request.header("x-sim-key").orElse(apiName + "|" + model + "|" + Answers.seed(messages));
                if (failedOnce.size() > ONCE_KEYS_LIMIT) {
                    failedOnce.clear();
                }
                if (failedOnce.add(key)) {
                    attempts.record(apiName, model, fault, stream, "500", tag, via, resent, digest);
                    sendError(exchange, api, 500, "api_error", "server_error", "The server had an error (simulated)", Map.of());
                    return;
                }
            }
            case UNAVAILABLE_503 -> {
                attempts.record(apiName, model, fault, stream, "503", tag, via, resent, digest);
                sendError(exchange, api, 503, "overloaded_error", "service_unavailable",
                        "The service is unavailable (simulated)", Map.of());
                return;
            }
            case RESET -> {
                attempts.record(apiName, model, fault, stream, "reset", tag, via, resent, digest);
                exchange.reset();
                return;
            }
            case BLACKHOLE -> {
                attempts.record(apiName, model, fault, stream, "blackhole", tag, via, resent, digest);
                exchange.hold(config.holdLimit());
                return;
            }
            case CONTEXT_LENGTH -> {
                attempts.record(apiName, model, fault, stream, "400-context-length", tag, via, resent, digest);
                String message = api == Api.OPENAI
                        ? "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens."
                        : "prompt is too long: 9001 tokens > 8192 maximum";
                sendError(exchange, api, 400, "invalid_request_error", "context_length_exceeded", message, Map.of());
                return;
            }
            case CONTENT_POLICY -> {
                attempts.record(apiName, model, fault, stream, "400-content-policy", tag, via, resent, digest);
                sendError(exchange, api, 400, "invalid_request_error", "content_policy_violation",
                        "Your request was rejected as a result of our safety system (simulated).", Map.of());
                return;
            }
            case PREFILL_REJECTED -> {
                if (!prefill.isEmpty()) {
                    attempts.record(apiName, model, fault, stream, "400-prefill", tag, via, resent, digest);
                    sendError(exchange, api, 400, "invalid_request_error", "prefill_not_supported",
                            "This model does not support assistant message prefill. "
                                    + "The conversation must end with a user message.", Map.of());
                    return;
                }
            }
            default -> {
                // answering modes below
            }
        }

        Timing timing = timing(request, fault);
        List<String> tokens = Answers.afterPrefill(Answers.tokens(messages, timing.tokens()), prefill);
        String finish = "stop";
        int maxTokens = maxTokens(body);
        if (tokens.size() > maxTokens) {
            tokens = tokens.subList(0, maxTokens);
            finish = "length";
        }
        Optional<String> tool = forcedTool(body, api);
        long promptTokens = Answers.promptTokens(messages, system);
        int cutAfter = intHeader(request, "x-sim-cut-after", 3);
        String outcome = switch (fault) {
            case CUT -> "cut";
            case STALL -> "stall";
            case MALFORMED_CHUNK -> "malformed";
            case NO_DONE -> "no-done";
            default -> "ok";
        };
        attempts.record(apiName, model, fault, stream, outcome, tag, via, resent, digest);
        Answer answer = new Answer(idFor(messages), model, tokens, finish, tool, promptTokens, clock.instant().getEpochSecond());
        if (stream) {
            StreamFormat format = switch (api) {
                case OPENAI -> new OpenAiStreamFormat(answer, body.path("stream_options").path("include_usage").asBoolean(false));
                case ANTHROPIC -> new AnthropicStreamFormat(answer);
                case RESPONSES -> new ResponsesStreamFormat(answer);
            };
            streamAnswer(exchange, format, answer, fault, timing, cutAfter);
        } else {
            sleep(timing.ttft().plus(timing.delay().multipliedBy(Math.max(0, tokens.size() - 1))));
            ObjectNode json = switch (api) {
                case OPENAI -> openAiCompletion(answer);
                case ANTHROPIC -> anthropicMessage(answer);
                case RESPONSES -> ResponsesStreamFormat.response(answer, "completed");
            };
            byte[] bytes = Json.bytes(json);
            switch (fault) {
                case CUT -> {
                    exchange.sendPartial(200, "application/json", java.util.Arrays.copyOf(bytes, bytes.length / 2), bytes.length);
                    exchange.cut();
                }
                case STALL -> {
                    exchange.sendPartial(200, "application/json", java.util.Arrays.copyOf(bytes, bytes.length / 2), bytes.length);
                    exchange.hold(config.holdLimit());
                }
                case MALFORMED_CHUNK -> exchange.send(200, "application/json", Map.of(),
                        "{\"id\":\"chatcmpl-sim\",\"choices\":[{\"message\":".getBytes(StandardCharsets.UTF_8));
                default -> exchange.send(200, "application/json", Map.of("x-sim-mode", fault.wireName()), bytes);
            }
        }
    }

    private void streamAnswer(SimExchange exchange, StreamFormat format, Answer answer, FaultMode fault, Timing timing,
                              int cutAfter) throws IOException {
        exchange.startStream(200, "text/event-stream", Map.of("Cache-Control", "no-cache", "x-sim-mode", fault.wireName()));
        sleep(timing.ttft());
        exchange.chunk(format.start());
        if (answer.tool().isPresent()) {
            exchange.chunk(format.toolCall(answer.tool().get(), answer.toolArguments()));
        } else {
            exchange.chunk(format.openText());
            List<String> tokens = answer.tokens();
            for (int i = 0; i < tokens.size(); i++) {
                if (i > 0) {
                    sleep(timing.delay());
                }
                if (i == cutAfter) {
                    switch (fault) {
                        case CUT -> {
                            exchange.cut();
                            return;
                        }
                        case STALL -> {
                            exchange.hold(config.holdLimit());
                            return;
                        }
                        case MALFORMED_CHUNK -> exchange.chunk(format.malformed());
                        default -> {
                            // healthy
                        }
                    }
                }
                exchange.chunk(format.token(tokens.get(i)));
            }
        }
        exchange.chunk(format.finish());
        if (fault != FaultMode.NO_DONE) {
            exchange.chunk(format.done());
        }
        exchange.endStream();
    }

    // ------------------------------------------------------------------ embeddings, models

    private void embeddings(SimRequest request, SimExchange exchange) throws IOException {
        ObjectNode body = parseBody(request, exchange, Api.OPENAI);
        if (body == null) {
            return;
        }
        String model = body.path("model").asText("");
        JsonNode input = body.get("input");
        if (model.isEmpty() || input == null || !(input.isTextual() || input.isArray())) {
            sendError(exchange, Api.OPENAI, 400, "invalid_request_error", "invalid_request",
                    "'model' and 'input' (string or array) are required", Map.of());
            return;
        }
        Optional<FaultMode> mode = mode(request, model, exchange, Api.OPENAI);
        if (mode.isEmpty()) {
            return;
        }
        String tag = request.header("x-sim-tag").orElse(null);
        String via = request.header("host").orElse("");
        boolean resent = request.header("x-understudy-resent").isPresent();
        switch (mode.get()) {
            case RATE_LIMIT_RETRY_AFTER, RATE_LIMIT, UNAVAILABLE_503, ERROR_500_ONCE, RESET, BLACKHOLE -> {
                // the transport-level faults apply to embeddings too
                int status = switch (mode.get()) {
                    case UNAVAILABLE_503 -> 503;
                    case ERROR_500_ONCE -> 500;
                    default -> 429;
                };
                attempts.record("embeddings", model, mode.get(), false, String.valueOf(status), tag, via, resent);
                switch (mode.get()) {
                    case RESET -> exchange.reset();
                    case BLACKHOLE -> exchange.hold(config.holdLimit());
                    default -> sendError(exchange, Api.OPENAI, status, "api_error", "simulated", "simulated failure",
                            mode.get() == FaultMode.RATE_LIMIT_RETRY_AFTER ? Map.of("Retry-After", "1") : Map.of());
                }
                return;
            }
            default -> attempts.record("embeddings", model, mode.get(), false, "ok", tag, via, resent);
        }
        int dimensions = body.path("dimensions").isIntegralNumber() ? Math.min(4096, Math.max(1, body.get("dimensions").asInt())) : 16;
        ArrayNode data = Json.array();
        long tokens = 0;
        List<String> inputs = new java.util.ArrayList<>();
        if (input.isTextual()) {
            inputs.add(input.asText());
        } else {
            input.forEach(i -> inputs.add(i.isTextual() ? i.asText() : Json.text(i)));
        }
        for (int i = 0; i < inputs.size(); i++) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            ArrayNode vector = item.putArray("embedding");
            for (double d : Answers.embedding(inputs.get(i), dimensions)) {
                vector.add(d);
            }
            tokens += Math.max(1, inputs.get(i).length() / 4);
        }
        ObjectNode out = Json.object();
        out.put("object", "list");
        out.set("data", data);
        out.put("model", model);
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        sendJson(exchange, 200, out, Map.of());
    }

    /** OpenAI's moderations: nothing is ever flagged. */
    private void moderations(SimRequest request, SimExchange exchange) throws IOException {
        ObjectNode body = parseBody(request, exchange, Api.OPENAI);
        if (body == null) {
            return;
        }
        String model = body.path("model").asText("omni-moderation-latest");
        attempts.record("moderations", model, FaultMode.NONE, false, "ok", request.header("x-sim-tag").orElse(null),
                request.header("host").orElse(""), false);
        ObjectNode out = Json.object().put("id", "modr-sim").put("model", model);
        out.putArray("results").addObject().put("flagged", false).putObject("categories");
        sendJson(exchange, 200, out, Map.of());
    }

    /** The bytes {@code /v1/audio/speech} answers for {@code input}: 200 KiB, deterministic, not text. */
    public static byte[] speechBytes(String input) {
        byte[] out = new byte[200 * 1024];
        int seed = input.hashCode();
        for (int i = 0; i < out.length; i++) {
            seed = seed * 1_103_515_245 + 12_345;
            out[i] = (byte) (seed >>> 16);
        }
        return out;
    }

    /** OpenAI's text-to-speech: audio/mpeg bytes (see {@link #speechBytes}). */
    private void speech(SimRequest request, SimExchange exchange) throws IOException {
        ObjectNode body = parseBody(request, exchange, Api.OPENAI);
        if (body == null) {
            return;
        }
        attempts.record("speech", body.path("model").asText(""), FaultMode.NONE, false, "ok",
                request.header("x-sim-tag").orElse(null), request.header("host").orElse(""), false);
        exchange.send(200, "audio/mpeg", Map.of(), speechBytes(body.path("input").asText("")));
    }

    /** OpenAI's transcription upload (multipart): answers with the size and SHA-256 of the body it received. */
    private void transcription(SimRequest request, SimExchange exchange) throws IOException {
        attempts.record("transcriptions", "", FaultMode.NONE, false, "ok", request.header("x-sim-tag").orElse(null),
                request.header("host").orElse(""), false);
        String sha256;
        try {
            sha256 = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(request.body()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sendJson(exchange, 200, Json.object().put("text", "sim transcript").put("bytes", request.body().length)
                .put("sha256", sha256).put("content_type", request.header("content-type").orElse("")), Map.of());
    }

    private ObjectNode models() {
        ObjectNode out = Json.object();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (String id : List.of("sim-small", "sim-large", "gpt-4o-mini", "claude-sonnet-4-5")) {
            data.addObject().put("id", id).put("object", "model").put("created", 1_700_000_000L).put("owned_by", "provider-sim");
        }
        for (FaultMode m : FaultMode.values()) {
            if (m != FaultMode.NONE) {
                data.addObject().put("id", "sim-" + m.wireName()).put("object", "model")
                        .put("created", 1_700_000_000L).put("owned_by", "provider-sim");
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ answer shapes

    /** What the simulator says; {@code tool} set when the request forced a tool call. */
    record Answer(String id, String model, List<String> tokens, String finish, Optional<String> tool, long promptTokens,
                  long created) {
        String text() {
            return String.join("", tokens);
        }

        long completionTokens() {
            return tool.isPresent() ? 8 : tokens.size();
        }

        String toolArguments() {
            return "{\"echo\":\"" + (tokens.isEmpty() ? "" : tokens.get(0).trim()) + "\"}";
        }
    }

    private static ObjectNode openAiCompletion(Answer a) {
        ObjectNode out = Json.object();
        out.put("id", "chatcmpl-" + a.id());
        out.put("object", "chat.completion");
        out.put("created", a.created());
        out.put("model", a.model());
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        if (a.tool().isPresent()) {
            message.putNull("content");
            ObjectNode call = message.putArray("tool_calls").addObject();
            call.put("id", "call_" + a.id());
            call.put("type", "function");
            call.putObject("function").put("name", a.tool().get()).put("arguments", a.toolArguments());
            choice.put("finish_reason", "tool_calls");
        } else {
            message.put("content", a.text());
            choice.put("finish_reason", a.finish());
        }
        message.putNull("refusal");
        choice.putNull("logprobs");
        out.putObject("usage").put("prompt_tokens", a.promptTokens()).put("completion_tokens", a.completionTokens())
                .put("total_tokens", a.promptTokens() + a.completionTokens());
        out.put("system_fingerprint", "provider-sim");
        return out;
    }

    private static ObjectNode anthropicMessage(Answer a) {
        ObjectNode out = Json.object();
        out.put("id", "msg_" + a.id());
        out.put("type", "message");
        out.put("role", "assistant");
        out.put("model", a.model());
        ArrayNode content = out.putArray("content");
        if (a.tool().isPresent()) {
            ObjectNode block = content.addObject().put("type", "tool_use").put("id", "toolu_" + a.id()).put("name", a.tool().get());
            block.set("input", parseQuietly(a.toolArguments()));
            out.put("stop_reason", "tool_use");
        } else {
            content.addObject().put("type", "text").put("text", a.text());
            out.put("stop_reason", a.finish().equals("length") ? "max_tokens" : "end_turn");
        }
        out.putNull("stop_sequence");
        out.putObject("usage").put("input_tokens", a.promptTokens()).put("output_tokens", a.completionTokens());
        return out;
    }

    // ------------------------------------------------------------------ helpers

    record Timing(Duration ttft, Duration delay, int tokens) {
    }

    private Timing timing(SimRequest request, FaultMode fault) {
        Duration ttft = fault == FaultMode.SLOW_FIRST_TOKEN ? config.slowFirstToken() : config.timeToFirstToken();
        ttft = request.header("x-sim-ttft-ms").map(v -> Duration.ofMillis(parseInt(v, (int) config.timeToFirstToken().toMillis())))
                .orElse(ttft);
        Duration delay = Duration.ofMillis(intHeader(request, "x-sim-token-delay-ms", (int) config.interTokenDelay().toMillis()));
        int tokens = Math.min(100_000, Math.max(1, intHeader(request, "x-sim-tokens", config.answerTokens())));
        return new Timing(ttft, delay, tokens);
    }

    private Optional<FaultMode> mode(SimRequest request, String model, SimExchange exchange, Api api) throws IOException {
        Optional<String> header = request.header("x-sim-fault");
        if (header.isPresent()) {
            Optional<FaultMode> parsed = FaultMode.parse(header.get());
            if (parsed.isEmpty()) {
                sendError(exchange, api, 400, "invalid_request_error", "unknown_fault_mode",
                        "unknown x-sim-fault '" + header.get() + "'", Map.of());
            }
            return parsed;
        }
        FaultMode byModel = FaultMode.fromModel(model);
        Storm current = storm;
        if (byModel == FaultMode.NONE && current != null && current.covers(model)
                && stormCounter.incrementAndGet() % current.every() == 0) {
            return Optional.of(current.mode());
        }
        return Optional.of(byModel);
    }

    private static int maxTokens(ObjectNode body) {
        JsonNode n = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens")
                : body.hasNonNull("max_output_tokens") ? body.get("max_output_tokens") : body.get("max_tokens");
        return n != null && n.isIntegralNumber() && n.asInt() > 0 ? n.asInt() : Integer.MAX_VALUE;
    }

    private static Optional<String> forcedTool(ObjectNode body, Api api) {
        JsonNode choice = body.get("tool_choice");
        if (choice == null || !choice.isObject()) {
            return Optional.empty();
        }
        // chat: {"type":"function","function":{"name":…}}; Messages and Responses: {"type":…,"name":…}
        String name = api == Api.OPENAI ? choice.path("function").path("name").asText("") : choice.path("name").asText("");
        return name.isEmpty() ? Optional.empty() : Optional.of(name);
    }

    private static String idFor(JsonNode messages) {
        return "sim" + Long.toHexString(Answers.seed(messages));
    }

    private ObjectNode parseBody(SimRequest request, SimExchange exchange, Api api) throws IOException {
        try {
            JsonNode node = Json.parse(request.body());
            if (node instanceof ObjectNode object) {
                return object;
            }
        } catch (IOException e) {
            // answered below
        }
        sendError(exchange, api, 400, "invalid_request_error", "invalid_json", "request body must be a JSON object", Map.of());
        return null;
    }

    private static void sendJson(SimExchange exchange, int status, JsonNode json, Map<String, String> headers) throws IOException {
        exchange.send(status, "application/json", headers, Json.bytes(json));
    }

    private static void sendError(SimExchange exchange, Api api, int status, String type, String code, String message,
                                  Map<String, String> headers) throws IOException {
        ObjectNode root = Json.object();
        ObjectNode error = Json.object();
        if (api == Api.ANTHROPIC) {
            root.put("type", "error");
            error.put("type", type);
            error.put("message", message);
        } else {
            error.put("message", message);
            error.put("type", type);
            error.putNull("param");
            error.put("code", code);
        }
        root.set("error", error);
        sendJson(exchange, status, root, headers);
    }

    private static int intHeader(SimRequest request, String name, int fallback) {
        return request.header(name).map(v -> parseInt(v, fallback)).orElse(fallback);
    }

    private static int parseInt(String v, int fallback) {
        try {
            return Math.max(0, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static JsonNode parseQuietly(String json) {
        try {
            return Json.parse(json);
        } catch (IOException e) {
            return Json.object();
        }
    }

    private static void sleep(Duration d) {
        if (d.isZero() || d.isNegative()) {
            return;
        }
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
