package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What differs between two answers to the same request, one straight from a provider and one
 * through the agent or a relay. Pure: two captured answers in, a list of differences out (empty:
 * the same apart from ids and timestamps). A whole answer is compared field by field; a stream by
 * its sequence of event kinds (runs of the same kind counted once, as a hop may split or join
 * chunks), its reassembled text, and what its events say at the end: model, stop reason, usage.
 */
final class ResponseDiff {
    /** Fields that differ between any two calls: never reported. */
    private static final Set<String> VOLATILE = Set.of("id", "created", "system_fingerprint", "created_at");

    enum Dialect { OPENAI, ANTHROPIC }

    /** One captured answer: status, media type (no parameters) and body text. */
    record Answer(int status, String mediaType, String body) {
        static Answer of(int status, String contentType, String body) {
            String media = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
            return new Answer(status, media, body);
        }
    }

    /** A stream reduced to what a client relies on. */
    record StreamSummary(List<String> kinds, String text, String model, String stop, String usage) {
    }

    private ResponseDiff() {
    }

    static List<String> compare(Answer direct, Answer via, Dialect dialect, boolean stream) {
        List<String> out = new ArrayList<>();
        if (direct.status() != via.status()) {
            out.add("status: " + direct.status() + " direct, " + via.status() + " through");
        }
        if (!direct.mediaType().equals(via.mediaType())) {
            out.add("content-type: " + direct.mediaType() + " direct, " + via.mediaType() + " through");
        }
        if (stream && direct.mediaType().equals("text/event-stream") && via.mediaType().equals("text/event-stream")) {
            StreamSummary a = summarize(direct.body(), dialect);
            StreamSummary b = summarize(via.body(), dialect);
            field(out, "stream events", String.join(" ", a.kinds()), String.join(" ", b.kinds()));
            field(out, "stream text", a.text(), b.text());
            field(out, "stream model", a.model(), b.model());
            field(out, "stream stop reason", a.stop(), b.stop());
            field(out, "stream usage", a.usage(), b.usage());
            return out;
        }
        JsonNode a = parse(direct.body());
        JsonNode b = parse(via.body());
        if (a == null || b == null) {
            if (!direct.body().equals(via.body())) {
                out.add("body: differs (not JSON on " + (a == null ? "the direct" : "the through") + " side)");
            }
            return out;
        }
        tree(out, "$", a, b);
        return out;
    }

    private static void field(List<String> out, String name, String direct, String via) {
        if (!direct.equals(via)) {
            out.add(name + ": " + quote(direct) + " direct, " + quote(via) + " through");
        }
    }

    private static String quote(String s) {
        String cut = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return "'" + cut.replace("\n", "\\n") + "'";
    }

    /** Field by field; volatile fields (ids, timestamps) are skipped wherever they are. */
    private static void tree(List<String> out, String path, JsonNode a, JsonNode b) {
        if (a.isObject() && b.isObject()) {
            Set<String> names = new LinkedHashSet<>();
            a.fieldNames().forEachRemaining(names::add);
            b.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                if (VOLATILE.contains(name)) {
                    continue;
                }
                String p = path + "." + name;
                if (!a.has(name)) {
                    out.add(p + ": only through (" + b.get(name) + ")");
                } else if (!b.has(name)) {
                    out.add(p + ": only direct (" + a.get(name) + ")");
                } else {
                    tree(out, p, a.get(name), b.get(name));
                }
            }
        } else if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                out.add(path + ": " + a.size() + " items direct, " + b.size() + " through");
            }
            Iterator<JsonNode> x = a.elements();
            Iterator<JsonNode> y = b.elements();
            for (int i = 0; x.hasNext() && y.hasNext(); i++) {
                tree(out, path + "[" + i + "]", x.next(), y.next());
            }
        } else if (!a.equals(b)) {
            out.add(path + ": " + a + " direct, " + b + " through");
        }
    }

    static StreamSummary summarize(String sse, Dialect dialect) {
        List<String> kinds = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        String model = "";
        String stop = "";
        String usage = "";
        String event = "";
        for (String line : sse.split("\r?\n")) {
            if (line.startsWith("event:")) {
                event = line.substring(6).trim();
                continue;
            }
            if (!line.startsWith("data:")) {
                continue;
            }
            String data = line.substring(5).trim();
            if (data.equals("[DONE]")) {
                addKind(kinds, "[DONE]");
                continue;
            }
            JsonNode d = parse(data);
            if (d == null) {
                addKind(kinds, "unparsable");
                continue;
            }
            if (dialect == Dialect.ANTHROPIC) {
                String type = d.path("type").asText(event);
                addKind(kinds, type);
                switch (type) {
                    case "message_start" -> model = d.path("message").path("model").asText(model);
                    case "content_block_delta" -> text.append(d.path("delta").path("text").asText(""));
                    case "message_delta" -> {
                        stop = d.path("delta").path("stop_reason").asText(stop);
                        usage = d.path("usage").toString();
                    }
                    default -> {
                    }
                }
            } else {
                JsonNode choice = d.path("choices").path(0);
                model = d.path("model").asText(model);
                if (d.hasNonNull("usage")) {
                    usage = d.get("usage").toString();
                }
                if (choice.isMissingNode()) {
                    addKind(kinds, d.hasNonNull("usage") ? "usage" : "other");
                    continue;
                }
                JsonNode delta = choice.path("delta");
                if (delta.hasNonNull("role")) {
                    addKind(kinds, "role");
                }
                if (delta.hasNonNull("content") && !delta.path("content").asText().isEmpty()) {
                    addKind(kinds, "content");
                    text.append(delta.path("content").asText());
                }
                if (delta.hasNonNull("tool_calls")) {
                    addKind(kinds, "tool_calls");
                }
                if (choice.hasNonNull("finish_reason")) {
                    stop = choice.path("finish_reason").asText();
                    addKind(kinds, "finish");
                }
            }
        }
        return new StreamSummary(kinds, text.toString(), model, stop, usage);
    }

    /** Runs of one kind count once: a hop may split or join chunks without changing the answer. */
    private static void addKind(List<String> kinds, String kind) {
        if (kinds.isEmpty() || !kinds.getLast().equals(kind)) {
            kinds.add(kind);
        }
    }

    private static JsonNode parse(String text) {
        try {
            return Json.parse(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
