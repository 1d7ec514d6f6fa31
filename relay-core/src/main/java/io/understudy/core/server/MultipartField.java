package io.understudy.core.server;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * One text field of a {@code multipart/form-data} body, found where it lies in the bytes: how a
 * pass-through call that uploads a file (audio transcriptions, files) names its {@code model}, and
 * how that name is changed without touching the rest of the upload.
 */
record MultipartField(int valueStart, int valueEnd) {
    private static final byte[] HEADER_END = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    /** The field {@code name} of a multipart body with the content type given; empty when there is none. */
    static Optional<MultipartField> find(byte[] body, String contentType, String name) {
        Optional<String> boundary = boundary(contentType);
        if (boundary.isEmpty()) {
            return Optional.empty();
        }
        byte[] delimiter = ("--" + boundary.get()).getBytes(StandardCharsets.ISO_8859_1);
        byte[] nextDelimiter = ("\r\n--" + boundary.get()).getBytes(StandardCharsets.ISO_8859_1);
        String wanted = "name=\"" + name + "\"";
        for (int part = indexOf(body, delimiter, 0); part >= 0; ) {
            int headersStart = part + delimiter.length;
            int headersEnd = indexOf(body, HEADER_END, headersStart);
            if (headersEnd < 0) {
                return Optional.empty();
            }
            int valueStart = headersEnd + HEADER_END.length;
            int valueEnd = indexOf(body, nextDelimiter, valueStart);
            if (valueEnd < 0) {
                return Optional.empty();
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.ISO_8859_1);
            for (String line : headers.split("\r\n")) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-disposition:") && lower.contains("form-data")
                        && (line.contains("; " + wanted) || line.contains(";" + wanted)) && !lower.contains("filename=")) {
                    return Optional.of(new MultipartField(valueStart, valueEnd));
                }
            }
            part = valueEnd + 2; // at the next "--boundary"
        }
        return Optional.empty();
    }

    String value(byte[] body) {
        return new String(body, valueStart, valueEnd - valueStart, StandardCharsets.UTF_8);
    }

    /** The body with this field's value replaced; every other byte as it was. */
    byte[] replaced(byte[] body, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[body.length - (valueEnd - valueStart) + v.length];
        System.arraycopy(body, 0, out, 0, valueStart);
        System.arraycopy(v, 0, out, valueStart, v.length);
        System.arraycopy(body, valueEnd, out, valueStart + v.length, body.length - valueEnd);
        return out;
    }

    private static Optional<String> boundary(String contentType) {
        if (!contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return Optional.empty();
        }
        for (String param : contentType.split(";")) {
            String p = param.trim();
            if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                String b = p.substring("boundary=".length());
                if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
                    b = b.substring(1, b.length() - 1);
                }
                return b.isEmpty() || b.length() > 200 ? Optional.empty() : Optional.of(b);
            }
        }
        return Optional.empty();
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
