package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.understudy.core.Json;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Origin;
import io.understudy.core.provider.Secret;
import io.understudy.core.server.Api;
import io.understudy.core.server.ApiErrors;
import io.understudy.core.server.ClientAuth;
import io.understudy.core.server.RequestBodies;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * {@code /admin/avoid}: an operator (or {@code understudy drill}) takes upstreams out of the agent's
 * rotation for a bounded time, to rehearse a failover in production without breaking anything.
 * Answers only on loopback, only with the admin token ({@code agent.admin-token-env}); off without one.
 * <ul>
 *   <li>{@code POST {"upstreams": [...]} | {"tiers": [...]} | {"relays": true}, "seconds": N, "reason": "..."}}
 *   <li>{@code DELETE}: lifts every avoidance at once</li>
 *   <li>{@code GET}: what is avoided, and for how long still</li>
 * </ul>
 */
final class AdminEndpoint {
    private static final Logger LOG = Logger.getLogger(AdminEndpoint.class.getName());
    static final int MAX_SECONDS = 3600;

    private final Optional<Secret> token;
    private final ClientAuth auth;
    private final AgentConfig config;
    private final Upstreams upstreams;
    private final FailoverLog failoverLog;
    private final Clock clock;

    AdminEndpoint(Optional<Secret> token, AgentConfig config, Upstreams upstreams, FailoverLog failoverLog, Clock clock) {
        this.token = token;
        this.auth = new ClientAuth(token.stream().toList());
        this.config = config;
        this.upstreams = upstreams;
        this.failoverLog = failoverLog;
        this.clock = clock;
    }

    void list(ServerRequest req, ServerResponse res) {
        guarded(req, res, () -> send(res));
    }

    void avoid(ServerRequest req, ServerResponse res) {
        guarded(req, res, () -> {
            JsonNode body = io.understudy.core.wire.WireChecks.parseObject(RequestBodies.readJson(req, 64 * 1024));
            Set<String> chosen = chosen(body);
            long seconds = body.path("seconds").asLong(0);
            if (!body.path("seconds").isIntegralNumber() || seconds < 1 || seconds > MAX_SECONDS) {
                throw bad("seconds", "'seconds' must be a whole number from 1 to " + MAX_SECONDS);
            }
            String reason = body.path("reason").asText("operator").strip();
            if (reason.isEmpty() || reason.length() > 200) {
                throw bad("reason", "'reason' must be 1 to 200 characters");
            }
            long now = clock.millis();
            upstreams.avoidances().avoid(chosen, now + seconds * 1000, reason);
            for (String u : chosen) {
                failoverLog.add(new FailoverLog.Entry(now, "-", u, "avoided",
                        "taken out of rotation by the operator for " + seconds + " s: " + reason));
            }
            LOG.info(() -> "operator avoids " + chosen + " for " + seconds + " s: " + reason);
            send(res);
        });
    }

    void lift(ServerRequest req, ServerResponse res) {
        guarded(req, res, () -> {
            long now = clock.millis();
            List<String> lifted = upstreams.avoidances().clear(now);
            for (String u : lifted) {
                failoverLog.add(new FailoverLog.Entry(now, "-", u, "back", "back in rotation: the operator lifted its avoidance"));
            }
            if (!lifted.isEmpty()) {
                LOG.info(() -> "operator lifted the avoidance of " + lifted);
            }
            send(res);
        });
    }

    /** The upstreams a request names: by name, by tier, or every relay; unknown names are a 400. */
    private Set<String> chosen(JsonNode body) {
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode n : body.path("upstreams")) {
            if (upstreams.get(n.asText()) == null) {
                throw bad("upstreams", "no upstream named '" + n.asText() + "'; GET /status lists them");
            }
            out.add(n.asText());
        }
        for (JsonNode n : body.path("tiers")) {
            List<Upstream> members = upstreams.all().stream().filter(u -> u.tier().equals(n.asText())).toList();
            if (config.tiers().stream().noneMatch(t -> t.name().equals(n.asText()))) {
                throw bad("tiers", "no tier named '" + n.asText() + "'");
            }
            members.forEach(u -> out.add(u.name()));
        }
        if (body.path("relays").asBoolean(false)) {
            upstreams.relays().forEach(u -> out.add(u.name()));
        }
        if (out.isEmpty()) {
            throw bad("upstreams", "name what to avoid: 'upstreams', 'tiers' or \"relays\": true");
        }
        return out;
    }

    private void send(ServerResponse res) {
        long now = clock.millis();
        ObjectNode root = Json.object();
        ArrayNode list = root.putArray("avoided");
        for (Avoidances.Avoidance a : upstreams.avoidances().active(now)) {
            list.addObject().put("upstream", a.upstream()).put("until", AgentServer.iso(a.untilMillis()))
                    .put("seconds_left", Math.max(0, (a.untilMillis() - now + 999) / 1000)).put("reason", a.reason());
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(root));
    }

    /** Loopback callers only, with the token; any failure becomes an OpenAI-style error. */
    private void guarded(ServerRequest req, ServerResponse res, Runnable handler) {
        try {
            if (!(req.remotePeer().address() instanceof InetSocketAddress peer) || !peer.getAddress().isLoopbackAddress()) {
                throw new FailureException(new Failure.ClientError(Origin.LOCAL, "agent", 403, "permission_error", "admin_loopback_only",
                        null, "The admin endpoints answer on loopback only."));
            }
            if (token.isEmpty()) {
                throw new FailureException(new Failure.ClientError(Origin.LOCAL, "agent", 403, "permission_error", "admin_disabled",
                        null, "The admin endpoints are off: set agent.admin-token-env to a variable holding a token."));
            }
            Optional<Failure> denied = auth.check(req.headers().first(HeaderNames.AUTHORIZATION), Optional.empty());
            if (denied.isPresent()) {
                throw new FailureException(denied.get());
            }
            handler.run();
        } catch (FailureException e) {
            ApiErrors.send(res, Api.OPENAI, e.failure(), null);
        }
    }

    private static FailureException bad(String param, String message) {
        return new FailureException(new Failure.ClientError(Origin.LOCAL, "agent", 400, "invalid_request_error",
                "invalid_admin_request", param, message));
    }
}
