package io.understudy.core.routing;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What a request requires of the provider that serves it, as tags: {@code region=eu,retention=zero}
 * means every provider tried must be tagged {@code region: eu} and {@code retention: zero}; a key may
 * allow alternatives, {@code region=eu|ch}. A provider without the key does not meet it: compliance
 * is opt-in per provider, never assumed. {@link #NONE} requires nothing.
 *
 * <p>A request states it in the {@link #HEADER} header; every hop that serves it filters its targets
 * by {@link #admits} on every path (first choice, fallback, pass-through), refuses when none is left,
 * and says what it enforced in {@link #ENFORCED}, so the hop before it can tell a hop that honoured the
 * requirement from one that ignored it.
 */
public record Requirement(Map<String, Set<String>> wanted) {
    public static final HeaderName HEADER = HeaderNames.create("x-understudy-require");
    /** On an answer: the requirement this hop enforced, in {@link #toString()}'s canonical form. */
    public static final HeaderName ENFORCED = HeaderNames.create("x-understudy-requirement-enforced");
    public static final Requirement NONE = new Requirement(Map.of());

    private static final Pattern WORD = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,31}");
    private static final int MAX_KEYS = 16;
    private static final int MAX_HEADER = 512;

    public Requirement {
        TreeMap<String, Set<String>> sorted = new TreeMap<>();
        wanted.forEach((k, v) -> sorted.put(k, Collections.unmodifiableSet(new java.util.TreeSet<>(v))));
        wanted = Collections.unmodifiableMap(sorted);
    }

    /** Nothing required. */
    public boolean isNone() {
        return wanted.isEmpty();
    }

    /**
     * Parses {@code key=value[|value...][,key=value...]} (lower case letters, digits, {@code _.-}).
     * Throws {@link IllegalArgumentException} saying what is wrong.
     */
    public static Requirement parse(String text) {
        if (text.length() > MAX_HEADER) {
            throw new IllegalArgumentException("is longer than " + MAX_HEADER + " characters");
        }
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            return NONE;
        }
        Map<String, Set<String>> wanted = new TreeMap<>();
        for (String part : trimmed.split(",", -1)) {
            String pair = part.strip();
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("'" + pair + "' is not key=value");
            }
            String key = pair.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
            if (!WORD.matcher(key).matches()) {
                throw new IllegalArgumentException("'" + key + "' is not a tag name (lower case letters, digits, _ . -)");
            }
            if (wanted.containsKey(key)) {
                throw new IllegalArgumentException("'" + key + "' is given twice (write alternatives as " + key + "=a|b)");
            }
            Set<String> values = new LinkedHashSet<>();
            for (String v : pair.substring(eq + 1).split("\\|", -1)) {
                String value = v.strip().toLowerCase(java.util.Locale.ROOT);
                if (!WORD.matcher(value).matches()) {
                    throw new IllegalArgumentException("'" + value + "' is not a tag value for " + key);
                }
                values.add(value);
            }
            wanted.put(key, values);
        }
        if (wanted.size() > MAX_KEYS) {
            throw new IllegalArgumentException("names more than " + MAX_KEYS + " tags");
        }
        return new Requirement(wanted);
    }

    /**
     * The requirement of a request from its header; absent: {@link #NONE}. A malformed header is the
     * client's error (400), never ignored: a typo must not turn into "no requirement".
     */
    public static Requirement fromHeader(Optional<String> header) {
        try {
            return header.map(Requirement::parse).orElse(NONE);
        } catch (IllegalArgumentException e) {
            throw new io.understudy.core.error.FailureException(io.understudy.core.error.Failure.ClientError.invalid(null,
                    "The " + HEADER.defaultCase() + " header " + e.getMessage()
                            + "; write it as key=value pairs, e.g. region=eu,retention=zero"));
        }
    }

    /** The error when no provider meets a requirement (422): nothing was sent anywhere. */
    public static io.understudy.core.error.FailureException unmet(String message) {
        return new io.understudy.core.error.FailureException(new io.understudy.core.error.Failure.ClientError(
                io.understudy.core.error.Origin.LOCAL, "local", 422, "invalid_request_error", "requirement_not_met", null,
                message));
    }

    /**
     * Both requirements at once: every key of either; a key in both allows only the values both
     * allow. Throws {@link IllegalArgumentException} naming the key when they leave it no value.
     */
    public Requirement and(Requirement other) {
        if (other.isNone()) {
            return this;
        }
        if (isNone()) {
            return other;
        }
        Map<String, Set<String>> both = new TreeMap<>(wanted);
        other.wanted.forEach((key, values) -> {
            Set<String> mine = both.get(key);
            if (mine == null) {
                both.put(key, values);
                return;
            }
            Set<String> common = new java.util.TreeSet<>(mine);
            common.retainAll(values);
            if (common.isEmpty()) {
                throw new IllegalArgumentException(key + "=" + String.join("|", mine) + " and " + key + "="
                        + String.join("|", values) + " leave no " + key + " allowed");
            }
            both.put(key, common);
        });
        return new Requirement(both);
    }

    /** Whether a provider with these tags meets every key of this requirement. */
    public boolean admits(Map<String, String> tags) {
        return unmet(tags).isEmpty();
    }

    /** Why a provider with these tags does not meet it ("region is us, not eu"), empty when it does. */
    public Optional<String> unmet(Map<String, String> tags) {
        List<String> why = new ArrayList<>();
        wanted.forEach((key, allowed) -> {
            String has = tags.get(key);
            if (has == null) {
                why.add("no " + key + " tag");
            } else if (!allowed.contains(has)) {
                why.add(key + " is " + has + ", not " + String.join(" or ", allowed));
            }
        });
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", why));
    }

    /** The canonical form (keys and alternatives sorted): what {@link #parse} reads back. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        wanted.forEach((k, v) -> parts.add(k + "=" + String.join("|", v)));
        return String.join(",", parts);
    }
}
