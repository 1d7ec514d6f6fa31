package io.understudy.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic answers: the same conversation always gets the same text, whatever the model or
 * API, so a test can tell a complete answer from a truncated or spliced one.
 */
public final class Answers {
    private static final String[] WORDS = {
            "the", "relay", "keeps", "answering", "when", "a", "provider", "fails", "and", "standby",
            "takes", "over", "within", "one", "second", "every", "stream", "ends", "cleanly", "with",
            "tokens", "counted", "cost", "known", "leader", "epoch", "lease", "health", "probe", "passes",
            "quiet", "steady", "river", "stone", "light", "bridge", "signal", "harbor", "north", "amber",
            "cedar", "delta", "ember", "falcon", "glacier", "horizon", "island", "jasper", "kernel", "lantern",
            "meadow", "nebula", "orbit", "pillar", "quartz", "rapid", "summit", "timber", "umbra", "vertex",
            "willow", "xenon", "yonder", "zephyr"};

    private Answers() {
    }

    /**
     * The answer's tokens for a conversation: each token is a word with a leading space
     * (the first has none). Trailing assistant messages are a prefill and do not change the answer.
     */
    public static List<String> tokens(JsonNode messages, int count) {
        SplittableRandom random = new SplittableRandom(seed(messages));
        List<String> tokens = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String word = WORDS[random.nextInt(WORDS.length)];
            tokens.add(i == 0 ? capitalise(word) : " " + word);
        }
        tokens.set(count - 1, tokens.get(count - 1) + ".");
        return tokens;
    }

    /**
     * What is left to say after an assistant prefill: the tokens after {@code prefix} when the
     * answer starts with it (split at word boundaries), else the whole answer.
     */
    public static List<String> afterPrefill(List<String> tokens, String prefix) {
        String full = String.join("", tokens);
        if (prefix.isEmpty() || !full.startsWith(prefix)) {
            return tokens;
        }
        String rest = full.substring(prefix.length());
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= rest.length(); i++) {
            if (i == rest.length() || rest.charAt(i) == ' ') {
                if (i > start) {
                    out.add(rest.substring(start, i));
                }
                start = i;
            }
        }
        return out;
    }

    /** Rough prompt size: one token per four characters of message text, at least one per message. */
    public static long promptTokens(JsonNode messages, JsonNode system) {
        long chars = system == null ? 0 : Json.text(system).length();
        long count = 0;
        for (JsonNode m : messages) {
            chars += Json.text(m.path("content")).length();
            count++;
        }
        return Math.max(count, chars / 4 + count);
    }

    /**
     * A Responses API request's instructions and input as chat messages (role and text), so the same
     * conversation gets the same answer through either API: instructions are a system message, a
     * string input is one user message, message items keep their role with their text parts joined,
     * and a function call's output is a tool message.
     */
    public static com.fasterxml.jackson.databind.node.ArrayNode messagesOfResponses(JsonNode body) {
        com.fasterxml.jackson.databind.node.ArrayNode out = Json.array();
        JsonNode instructions = body.path("instructions");
        if (instructions.isTextual() && !instructions.asText().isEmpty()) {
            out.addObject().put("role", "system").put("content", instructions.asText());
        }
        JsonNode input = body.path("input");
        if (input.isMissingNode() || input.isNull()) {
            return Json.array();
        }
        if (input.isTextual()) {
            out.addObject().put("role", "user").put("content", input.asText());
            return out;
        }
        for (JsonNode item : input) {
            String type = item.path("type").asText("message");
            switch (type) {
                case "message" -> {
                    JsonNode content = item.path("content");
                    String text;
                    if (content.isTextual()) {
                        text = content.asText();
                    } else {
                        StringBuilder sb = new StringBuilder();
                        for (JsonNode part : content) {
                            sb.append(part.path("text").asText(""));
                        }
                        text = sb.toString();
                    }
                    out.addObject().put("role", item.path("role").asText("user")).put("content", text);
                }
                case "function_call_output" -> out.addObject().put("role", "tool").put("content", item.path("output").asText(""));
                default -> {
                    // function calls and reasoning: the assistant's side, not what seeds the answer
                }
            }
        }
        return out;
    }

    /** SHA-256 (hex) of a request body with its model removed: what tells two requests' content apart. */
    public static String digestWithoutModel(com.fasterxml.jackson.databind.node.ObjectNode body) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = body.deepCopy();
        copy.remove("model");
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Json.bytes(copy)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always present", e);
        }
    }

    /** A deterministic unit vector for an embeddings input. */
    public static double[] embedding(String input, int dimensions) {
        SplittableRandom random = new SplittableRandom(seed(input));
        double[] v = new double[dimensions];
        double norm = 0;
        for (int i = 0; i < dimensions; i++) {
            v[i] = random.nextDouble(-1, 1);
            norm += v[i] * v[i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < dimensions; i++) {
            v[i] = Math.round(v[i] / norm * 1e6) / 1e6;
        }
        return v;
    }

    /** The conversation without trailing assistant messages, as the seed text. */
    static long seed(JsonNode messages) {
        StringBuilder sb = new StringBuilder();
        int end = messages.size();
        while (end > 0 && "assistant".equals(messages.get(end - 1).path("role").asText())) {
            end--;
        }
        for (int i = 0; i < end; i++) {
            JsonNode m = messages.get(i);
            sb.append(m.path("role").asText()).append('\u0000').append(contentKey(m.path("content"))).append('\u0001');
        }
        return seed(sb.toString());
    }

    /** A message's content as the seed sees it: text, whether a string or text blocks (any API's), else its JSON. */
    private static String contentKey(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray() && !content.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : content) {
                String type = part.path("type").asText();
                if (!(type.equals("text") || type.equals("input_text") || type.equals("output_text"))) {
                    return Json.text(content);
                }
                sb.append(part.path("text").asText());
            }
            return sb.toString();
        }
        return Json.text(content);
    }

    static long seed(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            long seed = 0;
            for (int i = 0; i < 8; i++) {
                seed = (seed << 8) | (digest[i] & 0xff);
            }
            return seed;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always present", e);
        }
    }

    /** The text of a trailing assistant message (the prefill), or "". */
    public static String prefill(JsonNode messages) {
        if (messages.isEmpty()) {
            return "";
        }
        JsonNode last = messages.get(messages.size() - 1);
        if (!"assistant".equals(last.path("role").asText())) {
            return "";
        }
        JsonNode content = last.path("content");
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            sb.append(part.path("text").asText(""));
        }
        return sb.toString();
    }

    private static String capitalise(String word) {
        return Character.toUpperCase(word.charAt(0)) + word.substring(1);
    }
}
