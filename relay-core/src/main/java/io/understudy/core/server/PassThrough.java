package io.understudy.core.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.HttpTransport;
import io.understudy.core.provider.ProviderConfig;
import io.understudy.core.routing.Requirement;
import io.understudy.core.routing.Router;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Every other call under {@code /v1/} (legacy completions, audio, images, moderations, files...),
 * passed on as it is: the body goes up unchanged (the model renamed only where a route says so),
 * and the answer, errors included, comes back as it arrives, byte for byte, flushed as it comes
 * (a legacy completion may stream). Such calls may not be idempotent, so a call moves to the next
 * candidate only when its connection was refused: no byte of it reached the one before. Anything
 * later (a timeout, a reset) is the client's to retry, never ours.
 */
public final class PassThrough {
    /** Request headers passed on; the client's key is replaced by the candidate's. */
    private static final Set<String> REQUEST_HEADERS = Set.of("content-type", "accept", "openai-beta");
    /** Answer headers passed back, besides the {@code x-ratelimit-*} family. */
    private static final Set<String> ANSWER_HEADERS = Set.of("content-type", "content-disposition", "retry-after",
            "openai-processing-ms", "openai-version", "cache-control");

    /**
     * One place a call may go: an OpenAI-compatible API root ({@code .../v1}) and its key, and the
     * model to ask for there, when a route renames it. {@code mustEnforce}: a relay told the call's
     * requirement, whose answer is used only if it says it enforced exactly that.
     */
    public record Candidate(String name, ProviderConfig api, Optional<String> renameModelTo, Optional<Requirement> mustEnforce) {
        public Candidate(String name, ProviderConfig api, Optional<String> renameModelTo) {
            this(name, api, renameModelTo, Optional.empty());
        }
    }

    /** A streamed upload may be this large (OpenAI's file uploads go up to 512 MB); it is never held whole. */
    public static final long MAX_UPLOAD_BYTES = 512L * 1024 * 1024;
    /** How much of an upload is read before routing it: where its form fields, the model among them, come first. */
    static final int LOOKAHEAD_BYTES = 64 * 1024;

    /**
     * A call's body as it is forwarded: {@code head}, what was read to route it (all of a JSON body,
     * which is small and may need its model renamed), and {@code rest}, what is still on the client's
     * connection: an upload streams up as it arrives, up to {@link #MAX_UPLOAD_BYTES}.
     */
    public record Body(byte[] head, InputStream rest, java.util.OptionalLong length) {
        /** Reads what routing needs: a JSON body within {@code maxJsonBytes}, else an upload's first bytes. */
        public static Body read(ServerRequest req, long maxJsonBytes) {
            Optional<String> type = req.headers().first(HeaderNames.CONTENT_TYPE);
            boolean json = type.isEmpty() || type.get().toLowerCase(Locale.ROOT).contains("json");
            if (json || req.prologue().method() == Method.GET) {
                byte[] whole = RequestBodies.read(req, maxJsonBytes);
                return new Body(whole, InputStream.nullInputStream(), java.util.OptionalLong.of(whole.length));
            }
            java.util.OptionalLong declared = req.headers().contentLength();
            if (declared.isPresent() && declared.getAsLong() > MAX_UPLOAD_BYTES) {
                throw new FailureException(new Failure.ClientError(Origin.LOCAL, "local", 413, "invalid_request_error",
                        "request_too_large", null, "Upload is larger than the limit of " + MAX_UPLOAD_BYTES + " bytes"));
            }
            try {
                InputStream in = req.content().inputStream();
                return new Body(in.readNBytes(LOOKAHEAD_BYTES), in, declared);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** What happened, for the caller's logs: {@code brokeOff} says why the answer stopped short, if it did. */
    public record Outcome(String candidate, int status, long bytes, Optional<String> brokeOff) {
        /** One log line: never the body, and the model made safe. */
        public String describe(ServerRequest req, Optional<String> model, long startedNanos) {
            return "pass-through " + req.prologue().method().text() + " " + req.path().path() + " model="
                    + model.map(HeaderValues::safe).orElse("-") + " upstream=" + candidate + " status=" + status
                    + " bytes=" + bytes + " ms=" + (System.nanoTime() - startedNanos) / 1_000_000
                    + brokeOff.map(why -> " broke_off=" + why).orElse("");
        }
    }

    /**
     * Whether a path not served otherwise is passed through: anything under {@code /v1/} but the
     * server's own paths (a wrong method on those is a 405) and its receipts.
     */
    public static boolean takes(String path, Set<String> ownPaths) {
        return path.startsWith("/v1/") && !ownPaths.contains(path) && !path.startsWith("/v1/receipts/");
    }

    private final HttpTransport transport;
    private final Duration readTimeout;

    /** {@code transport}: used for every candidate (connections are pooled per host). */
    public PassThrough(HttpTransport transport, Duration readTimeout) {
        this.transport = transport;
        this.readTimeout = readTimeout;
    }

    /**
     * Where a router sends a pass-through call: the OpenAI-compatible targets of the route for
     * {@code model}, else (no model, or no route for it) every OpenAI-compatible provider in config
     * order, the first one first. Anthropic providers take no OpenAI-shaped call. Only providers
     * that meet {@code requirement} are candidates, on either list.
     */
    public static List<Candidate> candidates(Router router, Optional<String> model, Requirement requirement) {
        List<Candidate> out = new ArrayList<>();
        if (model.isPresent()) {
            List<Router.Attempt> routed = router.plan(model.get()).attempts().stream()
                    .filter(a -> a.provider().config().kind().speaksOpenAi()).toList();
            if (!routed.isEmpty()) {
                // the model's route decides; a requirement none of its providers meets leaves none, not "any provider"
                routed.stream().filter(a -> requirement.admits(a.provider().config().tags())).forEach(a -> out.add(
                        new Candidate(a.provider().name(), a.provider().config(),
                                a.model().equals(model.get()) ? Optional.empty() : Optional.of(a.model()))));
                return out;
            }
        }
        router.providers().values().stream().filter(p -> p.config().kind().speaksOpenAi())
                .filter(p -> requirement.admits(p.config().tags()))
                .forEach(p -> out.add(new Candidate(p.name(), p.config(), Optional.empty())));
        return out;
    }

    /** Every candidate with a requirement: none left is the caller's 422, naming what each provider lacks. */
    public static List<Candidate> compliantOrRefuse(List<Candidate> candidates, Router router, Optional<String> model,
                                                    Requirement requirement) {
        if (!candidates.isEmpty() || requirement.isNone()) {
            return candidates;
        }
        Optional<Router.Result> routed = model.map(m -> router.plan(m, requirement)).filter(Router.Result::requirementUnmet);
        if (routed.isPresent()) {
            throw Requirement.unmet(routed.get().noRoute().orElseThrow());
        }
        List<String> gaps = router.providers().values().stream().filter(p -> p.config().kind().speaksOpenAi())
                .map(p -> p.name() + " (" + requirement.unmet(p.config().tags()).orElse("meets it") + ")").toList();
        throw Requirement.unmet(Router.unmetMessage(requirement, model.orElse("(none named)"), gaps));
    }

    /**
     * The call's {@code model}: the JSON body's, or a multipart upload's {@code model} field (audio
     * transcriptions, translations); empty when it names none.
     */
    public static Optional<String> model(byte[] body, Optional<String> contentType) {
        if (contentType.isPresent() && contentType.get().toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return MultipartField.find(body, contentType.get(), "model").map(f -> f.value(body).trim())
                    .filter(m -> !m.isEmpty());
        }
        if (contentType.isPresent() && !contentType.get().toLowerCase(Locale.ROOT).contains("json")) {
            return Optional.empty();
        }
        try {
            JsonNode node = Json.parse(body);
            return node != null && node.path("model").isTextual() ? Optional.of(node.path("model").asText()) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Sends the call to the first candidate that takes the connection and streams its answer back.
     * {@code refused} hears of each candidate that refused. Throws {@link FailureException} (502,
     * or 503 with no candidate) when none could be reached, before anything was sent to the client.
     */
    public Outcome forward(ServerRequest req, ServerResponse res, Body body, List<Candidate> candidates,
                           Consumer<String> refused) {
        if (candidates.isEmpty()) {
            throw new FailureException(new Failure.Unavailable(Origin.LOCAL, "local", Failure.UnavailableKind.MARKED_DOWN,
                    "No upstream can take " + req.prologue().method().text() + " " + req.path().path() + " now"));
        }
        String path = req.path().path().substring("/v1".length());
        String query = req.query().rawValue();
        List<String> tried = new ArrayList<>();
        int requirementRefusals = 0;
        int refusedConnections = 0;
        for (Candidate c : candidates) {
            Map<HeaderName, String> headers = new LinkedHashMap<>();
            for (io.helidon.http.Header h : req.headers()) {
                if (REQUEST_HEADERS.contains(h.name().toLowerCase(Locale.ROOT))) {
                    headers.put(h.headerName(), h.get());
                }
            }
            c.api().apiKey().ifPresent(k -> headers.put(HeaderNames.AUTHORIZATION, "Bearer " + k.value()));
            c.mustEnforce().ifPresent(r -> headers.put(Requirement.HEADER, r.toString()));
            byte[] head = c.renameModelTo().map(m -> renamed(body.head(), req.headers().first(HeaderNames.CONTENT_TYPE), m))
                    .orElse(body.head());
            body.length().ifPresent(n -> headers.put(HeaderNames.CONTENT_LENGTH, String.valueOf(n - body.head().length + head.length)));
            boolean[] tooLarge = new boolean[1];
            HttpClientResponse answer;
            try {
                URI uri = c.api().resolve(path + (query.isEmpty() ? "" : "?" + query));
                answer = req.prologue().method() == Method.GET && head.length == 0
                        ? transport.exchange(req.prologue().method(), uri, headers, null, readTimeout)
                        : transport.exchangeStreaming(req.prologue().method(), uri, headers, out -> {
                            out.write(head);
                            if (copyAtMost(body.rest(), out, MAX_UPLOAD_BYTES - head.length)) {
                                tooLarge[0] = true;
                                throw new IOException("upload larger than " + MAX_UPLOAD_BYTES + " bytes");
                            }
                            out.close();
                        }, readTimeout);
            } catch (FailureException e) {
                if (e.failure() instanceof Failure.Unavailable u && u.kind() == Failure.UnavailableKind.CONNECT_REFUSED) {
                    tried.add(c.name() + " (refused)");
                    refusedConnections++;
                    refused.accept(c.name());
                    continue; // nothing of the call reached it: the next one may take it
                }
                if (tooLarge[0]) {
                    throw new FailureException(new Failure.ClientError(Origin.LOCAL, "local", 413, "invalid_request_error",
                            "request_too_large", null, "Upload is larger than the limit of " + MAX_UPLOAD_BYTES + " bytes"));
                }
                throw new FailureException(new Failure.Unavailable(Origin.LOCAL, c.name(), Failure.UnavailableKind.RESET,
                        c.name() + " did not answer " + req.path().path() + ": " + e.getMessage()
                                + " (not retried: the call may have been received)"));
            }
            if (c.mustEnforce().isPresent()
                    && !answer.headers().first(Requirement.ENFORCED).orElse("").equals(c.mustEnforce().get().toString())) {
                // a relay with no provider meeting it (its 422), or one that ignored it: its answer is not used
                int status = answer.status().code();
                answer.close();
                tried.add(c.name() + (status == 422 ? " (no provider meeting " + c.mustEnforce().get() + ")"
                        : " (answered " + status + " without confirming it enforced " + c.mustEnforce().get() + ")"));
                requirementRefusals++;
                continue;
            }
            try (answer) {
                return copy(answer, res, c.name());
            }
        }
        if (requirementRefusals == candidates.size() - refusedConnections) {
            throw Requirement.unmet("No upstream meeting " + candidates.get(0).mustEnforce().orElse(Requirement.NONE)
                    + " took " + req.path().path() + ": " + String.join(", ", tried) + ". Nothing was used of any answer.");
        }
        throw new FailureException(new Failure.Unavailable(Origin.LOCAL, "local", Failure.UnavailableKind.CONNECT_REFUSED,
                "No upstream took " + req.path().path() + ": " + String.join(", ", tried)));
    }

    /** Copies at most {@code max} bytes; true when there was more (the copy stopped there). */
    private static boolean copyAtMost(InputStream in, java.io.OutputStream out, long max) throws IOException {
        byte[] buffer = new byte[16 * 1024];
        long copied = 0;
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
            copied += n;
            if (copied > max) {
                return true;
            }
            out.write(buffer, 0, n);
        }
        return false;
    }

    /** The body asking for {@code model}: its JSON {@code model}, or its multipart {@code model} field, replaced. */
    private static byte[] renamed(byte[] body, Optional<String> contentType, String model) {
        if (contentType.isPresent() && contentType.get().toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return MultipartField.find(body, contentType.get(), "model").map(f -> f.replaced(body, model)).orElse(body);
        }
        try {
            if (Json.parse(body) instanceof ObjectNode o) {
                o.put("model", model);
                return Json.bytes(o);
            }
        } catch (IOException e) {
            // not JSON after all: sent as it is
        }
        return body;
    }

    /** Status, the headers that matter, then the body as it arrives. */
    private static Outcome copy(HttpClientResponse answer, ServerResponse res, String candidate) {
        int status = answer.status().code();
        res.status(Status.create(status));
        for (io.helidon.http.Header h : answer.headers()) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (ANSWER_HEADERS.contains(name) || name.startsWith("x-ratelimit-")) {
                res.header(h.headerName(), h.get());
            }
        }
        res.header(HeaderNames.create("x-understudy-upstream"), HeaderValues.safe(candidate));
        long copied = 0;
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = answer.inputStream(); OutputStream out = res.outputStream()) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                out.write(buffer, 0, n);
                out.flush(); // a streamed legacy completion reaches the client as it comes
                copied += n;
            }
        } catch (IOException | UncheckedIOException e) {
            // the upstream or the client broke off mid-answer: nothing more can be said to the client
            return new Outcome(candidate, status, copied, Optional.of(String.valueOf(e.getMessage())));
        }
        return new Outcome(candidate, status, copied, Optional.empty());
    }
}
