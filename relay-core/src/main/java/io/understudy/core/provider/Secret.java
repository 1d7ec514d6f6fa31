package io.understudy.core.provider;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** A credential. Its {@code toString} never shows the value, so it cannot leak into logs by accident. */
public record Secret(String value) {
    public Secret {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("secret must not be blank");
        }
    }

    /** Constant-time comparison (no early exit on the first differing byte). */
    public boolean matches(String candidate) {
        if (candidate == null) {
            return false;
        }
        return MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8), candidate.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Secret[redacted]";
    }
}
