package io.understudy.agent;

import io.understudy.core.routing.Balancer;
import io.understudy.core.failover.RetryBudget;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.Version;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/** {@code /status} as JSON and {@code /} as a plain HTML page (no external assets) built from it. */
final class StatusView {
    private final AgentConfig config;
    private final Upstreams upstreams;
    private final Dispatcher dispatcher;
    private final RetryBudget budget;
    private static final int ROUTING_MODELS = 20;
    private final FailoverLog failoverLog;
    private final Clock clock;
    private final long startedMillis;

    private final java.util.Optional<LeaderView> leaderView;
    private final java.util.function.Supplier<java.util.Optional<String>> leaderTier;

    StatusView(AgentConfig config, Upstreams upstreams, Dispatcher dispatcher, RetryBudget budget, FailoverLog failoverLog,
               Clock clock, long startedMillis, java.util.Optional<LeaderView> leaderView,
               java.util.function.Supplier<java.util.Optional<String>> leaderTier) {
        this.leaderView = leaderView;
        this.leaderTier = leaderTier;
        this.config = config;
        this.upstreams = upstreams;
        this.dispatcher = dispatcher;
        this.budget = budget;
        this.failoverLog = failoverLog;
        this.clock = clock;
        this.startedMillis = startedMillis;
    }

    /**
     * How a relay tier with more than one member shares each model's traffic now, and why (the
     * {@link Balancer}'s reasons); at most {@link #ROUTING_MODELS} models. A direct tier's peers
     * depend on each route's priorities: its attempts' reasons say how each request was drawn.
     */
    private void routing(ObjectNode t, AgentConfig.Tier tier, long now) {
        List<Upstream> members = upstreams.all().stream().filter(u -> u.tier().equals(tier.name())).toList();
        if (tier.kind() != AgentConfig.TierKind.RELAY || members.size() < 2) {
            return;
        }
        java.util.Set<String> models = new java.util.TreeSet<>();
        members.forEach(u -> models.addAll(u.signals(now).keySet()));
        ArrayNode routing = t.putArray("routing");
        for (String model : models.stream().limit(ROUTING_MODELS).toList()) {
            List<Balancer.Peer> peers = members.stream()
                    .map(u -> new Balancer.Peer(u.name(), u.weight(), u.live(model, upstreams.sloFor(u, model), now))).toList();
            boolean stream = peers.stream().anyMatch(p -> !Double.isNaN(p.live().signals().firstTokenMillis()));
            double[] shares = Balancer.shares(peers, stream);
            ObjectNode o = routing.addObject().put("model", model).put("measured_on", stream ? "first_token" : "answer");
            ObjectNode byPeer = o.putObject("shares");
            for (int i = 0; i < peers.size(); i++) {
                byPeer.put(peers.get(i).name(), Math.round(shares[i] * 1000) / 1000.0);
            }
            o.put("reason", Balancer.explain(peers, stream));
        }
    }

    /** "m: 21 / 45 ms, 3% errors; slo m*: breaches, share 40%" for the status page (three models at most). */
    private static String lately(JsonNode u) {
        List<String> parts = new java.util.ArrayList<>();
        var models = u.path("live").fields();
        for (int n = 0; models.hasNext() && n < 3; n++) {
            var e = models.next();
            JsonNode m = e.getValue();
            String errors = m.path("error_rate").asDouble() >= 0.01 ? ", " + Math.round(m.path("error_rate").asDouble() * 100) + "% errors" : "";
            parts.add(e.getKey() + ": " + (m.path("first_token_ms").isNumber() ? Math.round(m.path("first_token_ms").asDouble()) : "-")
                    + " / " + (m.path("answer_ms").isNumber() ? Math.round(m.path("answer_ms").asDouble()) : "-") + " ms" + errors);
        }
        for (JsonNode slo : u.path("slos")) {
            parts.add("slo " + slo.path("slo").asText() + ": " + slo.path("verdict").asText() + ", share "
                    + Math.round(slo.path("share").asDouble() * 100) + "%");
        }
        return parts.isEmpty() ? "-" : String.join("; ", parts);
    }

    ObjectNode json() {
        long now = clock.millis();
        ObjectNode root = Json.object();
        ObjectNode agent = root.putObject("agent");
        agent.put("version", Version.current());
        agent.put("uptime_seconds", (now - startedMillis) / 1000);
        agent.put("time", AgentServer.iso(now));
        if (leaderView.isEmpty()) {
            root.putNull("leader");
        } else {
            LeaderView view = leaderView.get();
            ObjectNode leader = root.putObject("leader");
            view.leader().ifPresentOrElse(l -> leader.put("instance", l.instance()).put("role", l.role())
                            .put("epoch", l.epoch()).put("learnt_at", AgentServer.iso(l.learntAtMillis())),
                    () -> leader.putNull("instance"));
            leaderTier.get().ifPresent(t -> leader.put("tier", t));
            leader.put("vacant", view.vacant());
            leader.put("view_stale_ms", view.staleMillis());
            leader.put("etcd_error", view.lastError());
            leader.put("rejected_stale_epochs", view.rejectedStaleEpochs());
            leader.put("subscriptions", view.subscriptions());
        }
        ArrayNode tiers = root.putArray("tiers");
        for (AgentConfig.Tier tier : config.tiers()) {
            ObjectNode t = tiers.addObject();
            t.put("name", tier.name());
            t.put("kind", tier.kind().name().toLowerCase(java.util.Locale.ROOT));
            ArrayNode members = t.putArray("upstreams");
            for (Upstream u : upstreams.all()) {
                if (!u.tier().equals(tier.name())) {
                    continue;
                }
                ObjectNode m = members.addObject();
                m.put("name", u.name());
                m.put("health", u.healthState().name().toLowerCase(java.util.Locale.ROOT));
                u.health().ifPresent(h -> {
                    m.put("health_since", AgentServer.iso(h.sinceMillis()));
                    if (!h.lastError().isEmpty()) {
                        m.put("last_probe_error", h.lastError());
                    }
                });
                m.put("circuit", u.circuitState());
                m.put("in_flight", u.inflight());
                m.put("weight", u.weight());
                upstreams.describeLive(u, m, now);
                ObjectNode openModels = m.putObject("model_circuit_open_for_ms");
                u.openModels(now).forEach(openModels::put);
                ObjectNode cooling = m.putObject("rate_limited_for_ms");
                for (Map.Entry<String, Long> e : u.cooldowns().entrySet()) {
                    if (e.getValue() > now) {
                        cooling.put(e.getKey().isEmpty() ? "*" : e.getKey(), e.getValue() - now);
                    }
                }
            }
            routing(t, tier, now);
        }
        ArrayNode avoided = root.putArray("avoided");
        for (Avoidances.Avoidance a : upstreams.avoidances().active(now)) {
            avoided.addObject().put("upstream", a.upstream()).put("for_ms", a.untilMillis() - now).put("reason", a.reason());
        }
        root.put("host_worst_lag_ms", upstreams.hostLag().worstLagMillis());
        ObjectNode limits = root.putObject("provider_rate_limited_for_ms");
        upstreams.providerLimits().active(now).forEach(limits::put);
        ObjectNode counters = root.putObject("counters");
        counters.put("requests", dispatcher.requests.sum());
        counters.put("answered", dispatcher.answered.sum());
        counters.put("failed", dispatcher.failed.sum());
        counters.put("failovers", dispatcher.failovers.sum());
        counters.put("streams_resumed", dispatcher.recovered.sum());
        RetryBudget.Snapshot b = budget.snapshot();
        ObjectNode rb = root.putObject("retry_budget");
        rb.put("window_requests", b.requests());
        rb.put("window_retries", b.retries());
        rb.put("window_allowed", b.allowed());
        rb.put("window_redirects", b.redirects());
        rb.put("retries_total", b.retriesTotal());
        rb.put("redirects_total", b.redirectsTotal());
        rb.put("exhausted_total", b.exhaustedTotal());
        ArrayNode recent = root.putArray("recent_events");
        for (FailoverLog.Entry e : failoverLog.recent()) {
            ObjectNode o = recent.addObject();
            o.put("time", AgentServer.iso(e.atMillis()));
            o.put("request_id", e.requestId());
            o.put("from", e.from());
            o.put("to", e.to());
            o.put("reason", e.reason());
        }
        return root;
    }

    String html() {
        ObjectNode s = json();
        StringBuilder h = new StringBuilder(8192);
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">")
                .append("<title>Understudy agent</title><style>")
                .append("body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}")
                .append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}")
                .append(".rate-limited,.open-models{white-space:nowrap}.up{color:#060}.down{color:#b00}.suspect,.unknown,.half_open{color:#a60}.open{color:#b00}")
                .append("</style></head><body><h1>Understudy failover agent</h1>");
        JsonNode agent = s.path("agent");
        h.append("<p>version ").append(esc(agent.path("version").asText())).append(" &middot; up ")
                .append(agent.path("uptime_seconds").asLong()).append(" s &middot; ").append(esc(agent.path("time").asText()))
                .append(" &middot; leader: ").append(s.path("leader").isNull() ? "(no leadership configured)"
                        : esc(s.path("leader").path("instance").asText("none") + " (epoch " + s.path("leader").path("epoch").asLong()
                        + ", view " + s.path("leader").path("view_stale_ms").asLong() + " ms old)"))
                .append("</p>");
        h.append("<h2>Tiers</h2><table id=\"tiers\"><tr><th>tier</th><th>upstream</th><th>health</th><th>circuit</th>")
                .append("<th>in flight</th><th>lately (first token / answer)</th><th>last probe error</th><th>rate limited</th><th>models with an open circuit</th></tr>");
        for (JsonNode tier : s.path("tiers")) {
            for (JsonNode u : tier.path("upstreams")) {
                String health = u.path("health").asText();
                String circuit = u.path("circuit").asText();
                h.append("<tr data-upstream=\"").append(esc(u.path("name").asText())).append("\"><td>").append(esc(tier.path("name").asText()))
                        .append("</td><td>").append(esc(u.path("name").asText()))
                        .append("</td><td class=\"health ").append(esc(health)).append("\">").append(esc(health))
                        .append("</td><td class=\"circuit ").append(esc(circuit)).append("\">").append(esc(circuit))
                        .append("</td><td>").append(u.path("in_flight").asInt())
                        .append("</td><td class=\"live\">").append(esc(lately(u)))
                        .append("</td><td>").append(esc(u.path("last_probe_error").asText("")))
                        .append("</td><td class=\"rate-limited\">").append(esc(remaining(u.path("rate_limited_for_ms"))))
                        .append("</td><td class=\"open-models\">").append(esc(remaining(u.path("model_circuit_open_for_ms"))))
                        .append("</td></tr>");
            }
        }
        h.append("</table>");
        if (!s.path("avoided").isEmpty()) {
            h.append("<p id=\"avoided\"><b>Out of rotation by the operator:</b> ");
            StringBuilder list = new StringBuilder();
            for (JsonNode a : s.path("avoided")) {
                list.append(list.isEmpty() ? "" : ", ").append(a.path("upstream").asText()).append(" for ")
                        .append(String.format(java.util.Locale.ROOT, "%.0f s", Math.ceil(a.path("for_ms").asLong() / 1000.0)))
                        .append(" (").append(a.path("reason").asText()).append(')');
            }
            h.append(esc(list.toString())).append("</p>");
        }
        if (!s.path("provider_rate_limited_for_ms").isEmpty()) {
            h.append("<p>Providers rate limited: ").append(esc(remaining(s.path("provider_rate_limited_for_ms")))).append("</p>");
        }
        h.append("<h2>Counters</h2><table>");
        s.path("counters").fields().forEachRemaining(e ->
                h.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(e.getValue().asText()).append("</td></tr>"));
        s.path("retry_budget").fields().forEachRemaining(e ->
                h.append("<tr><th>retry budget: ").append(esc(e.getKey())).append("</th><td>").append(e.getValue().asText()).append("</td></tr>"));
        h.append("</table><h2>Recent failovers and state changes</h2><table><tr><th>time</th><th>request</th><th>from</th>")
                .append("<th>to</th><th>reason</th></tr>");
        for (JsonNode e : s.path("recent_events")) {
            h.append("<tr><td>").append(esc(e.path("time").asText())).append("</td><td>").append(esc(e.path("request_id").asText()))
                    .append("</td><td>").append(esc(e.path("from").asText())).append("</td><td>").append(esc(e.path("to").asText()))
                    .append("</td><td>").append(esc(e.path("reason").asText())).append("</td></tr>");
        }
        h.append("</table><p><a href=\"/status\">/status</a> (JSON) &middot; <a href=\"/metrics\">/metrics</a></p></body></html>");
        return h.toString();
    }

    /**
     * A map of name to milliseconds left as words: {@code gpt-4o 1.2 s, * 3.0 s} ({@code *}: every
     * model), or a dash when nothing is limited; never the raw JSON.
     */
    static String remaining(JsonNode millisByName) {
        if (millisByName.isEmpty()) {
            return "\u2013";
        }
        StringBuilder b = new StringBuilder();
        millisByName.fields().forEachRemaining(e -> b.append(b.isEmpty() ? "" : ", ").append(e.getKey().equals("*") ? "every model" : e.getKey()).append(' ')
                .append(String.format(java.util.Locale.ROOT, "%.1f s", e.getValue().asLong() / 1000.0)));
        return b.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
