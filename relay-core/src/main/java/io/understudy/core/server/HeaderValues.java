package io.understudy.core.server;

import java.nio.charset.StandardCharsets;

/**
 * Values that came from a client or a provider and are echoed into a response header (a model
 * name, a provider's id). A header value may hold visible ASCII and spaces only: anything else, a
 * CR or LF above all, would break the response after the provider was called and billed. Such
 * characters are percent-encoded (as UTF-8), so the value stays readable and unambiguous.
 */
public final class HeaderValues {
    /** Longer values are cut here (with "..."): a header is a label, not a payload. */
    static final int MAX_LENGTH = 256;

    private HeaderValues() {
    }

    public static String safe(String value) {
        if (value == null) {
            return "";
        }
        String cut = value.length() > MAX_LENGTH ? value.substring(0, MAX_LENGTH) + "..." : value;
        if (cut.chars().allMatch(HeaderValues::plain)) {
            return cut;
        }
        StringBuilder out = new StringBuilder(cut.length() + 16);
        for (byte b : cut.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (plain(c)) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static boolean plain(int c) {
        return c >= 0x20 && c < 0x7f && c != '%';
    }
}
