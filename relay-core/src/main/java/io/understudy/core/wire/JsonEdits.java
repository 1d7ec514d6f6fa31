package io.understudy.core.wire;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The two edits a hop makes to a request body it otherwise passes on as received, made on the
 * received bytes: a top-level string field replaced (the model a route names), a top-level field
 * added (the stream options a relay needs to price). Everything else, field order, spacing,
 * escapes and number spellings included, stays byte for byte what the client sent. Each edit
 * answers empty when it cannot be made this way; the caller then encodes its tree instead.
 */
public final class JsonEdits {
    private JsonEdits() {
    }

    /**
     * {@code json} with every top-level {@code field} holding a string set to {@code value}. Empty
     * when there is no such field, or one of them is not a string. A body that parsed into a tree
     * parses here too; anything else is empty as well.
     */
    public static Optional<byte[]> replaceTopLevelString(byte[] json, String field, String value) {
        List<long[]> spans = new ArrayList<>();
        try (JsonParser p = Json.mapper().getFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return Optional.empty();
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                boolean wanted = field.equals(p.currentName());
                JsonToken v = p.nextToken();
                if (!wanted) {
                    p.skipChildren();
                    continue;
                }
                if (v != JsonToken.VALUE_STRING) {
                    return Optional.empty();
                }
                long start = p.currentTokenLocation().getByteOffset();
                p.getText(); // the parser reads a string lazily: this moves it past the closing quote
                spans.add(new long[]{start, p.currentLocation().getByteOffset()});
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        if (spans.isEmpty()) {
            return Optional.empty();
        }
        byte[] quoted = Json.bytes(Json.mapper().getNodeFactory().textNode(value));
        ByteArrayOutputStream out = new ByteArrayOutputStream(json.length + quoted.length);
        int at = 0;
        for (long[] span : spans) {
            out.write(json, at, (int) span[0] - at);
            out.writeBytes(quoted);
            at = (int) span[1];
        }
        out.write(json, at, json.length - at);
        return Optional.of(out.toByteArray());
    }

    /**
     * {@code json} with {@code "name": rawValue} added as the object's first field. The caller
     * makes sure the field is not there already (a tree it parsed from the same bytes says so).
     */
    public static Optional<byte[]> addTopLevelField(byte[] json, String name, String rawValue) {
        int open = 0;
        while (open < json.length && isSpace(json[open])) {
            open++;
        }
        if (open == json.length || json[open] != '{') {
            return Optional.empty();
        }
        int next = open + 1;
        while (next < json.length && isSpace(json[next])) {
            next++;
        }
        if (next == json.length || json[next] == '}') {
            return Optional.empty(); // an empty object takes no comma; never a valid request anyway
        }
        byte[] field = ("\"" + name + "\":" + rawValue + ",").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[json.length + field.length];
        System.arraycopy(json, 0, out, 0, open + 1);
        System.arraycopy(field, 0, out, open + 1, field.length);
        System.arraycopy(json, open + 1, out, open + 1 + field.length, json.length - open - 1);
        return Optional.of(out);
    }

    /**
     * A shallow copy of {@code body} aimed at {@code model}, and the received bytes edited to match
     * (null when there were none, or the edit could not be made on them). Children are shared:
     * request trees are never changed in place below the top level.
     */
    static <T> T withModel(ObjectNode body, byte[] received, String model, java.util.function.BiFunction<ObjectNode, byte[], T> make) {
        ObjectNode copy = body.objectNode();
        copy.setAll(body);
        copy.put("model", model);
        byte[] bytes = received == null ? null : replaceTopLevelString(received, "model", model).orElse(null);
        return make.apply(copy, bytes);
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
