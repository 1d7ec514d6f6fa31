package io.understudy.core;

import java.util.Objects;

/** A model-name pattern where {@code *} matches any run of characters; everything else is literal. */
public record Glob(String pattern) {
    public Glob {
        Objects.requireNonNull(pattern, "pattern");
        if (pattern.isBlank()) {
            throw new IllegalArgumentException("pattern must not be blank");
        }
    }

    public boolean matches(String text) {
        return matches(pattern, 0, text, 0);
    }

    /** More literal characters = more specific; used to pick the best of several matches. */
    public int specificity() {
        return pattern.replace("*", "").length();
    }

    private static boolean matches(String p, int pi, String t, int ti) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '*') {
                if (pi == p.length() - 1) {
                    return true;
                }
                for (int k = ti; k <= t.length(); k++) {
                    if (matches(p, pi + 1, t, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (ti >= t.length() || t.charAt(ti) != c) {
                return false;
            }
            pi++;
            ti++;
        }
        return ti == t.length();
    }
}
