package io.understudy.sim.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately small HTTP/1.1 request parser. The simulator owns its sockets so that it can
 * misbehave on purpose (reset, cut mid-body, go silent), which a full web server does not allow.
 */
final class HttpCodec {
    static final int MAX_HEADER_BYTES = 64 * 1024;
    static final int MAX_BODY_BYTES = 32 * 1024 * 1024;

    private HttpCodec() {
    }

    /** Reads one request; null when the peer closed the connection between requests. */
    static SimRequest read(InputStream in) throws IOException {
        String requestLine = readLine(in, true);
        if (requestLine == null) {
            return null;
        }
        while (requestLine.isEmpty()) { // tolerate stray CRLF between requests
            requestLine = readLine(in, true);
            if (requestLine == null) {
                return null;
            }
        }
        String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            throw new BadRequest("malformed request line");
        }
        Map<String, String> headers = new HashMap<>();
        int headerBytes = 0;
        while (true) {
            String line = readLine(in, false);
            if (line == null) {
                throw new BadRequest("connection closed inside headers");
            }
            if (line.isEmpty()) {
                break;
            }
            headerBytes += line.length();
            if (headerBytes > MAX_HEADER_BYTES) {
                throw new BadRequest("headers too large");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new BadRequest("malformed header line");
            }
            headers.merge(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim(),
                    (a, b) -> a + ", " + b);
        }
        byte[] body;
        String transferEncoding = headers.getOrDefault("transfer-encoding", "");
        if (transferEncoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = readChunked(in);
        } else if (headers.containsKey("content-length")) {
            long length;
            try {
                length = Long.parseLong(headers.get("content-length"));
            } catch (NumberFormatException e) {
                throw new BadRequest("bad content-length");
            }
            if (length < 0 || length > MAX_BODY_BYTES) {
                throw new BadRequest("body too large");
            }
            body = in.readNBytes((int) length);
            if (body.length != length) {
                throw new BadRequest("connection closed inside body");
            }
        } else {
            body = new byte[0];
        }
        String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
        boolean keepAlive = parts[2].equals("HTTP/1.1") ? !connection.contains("close") : connection.contains("keep-alive");
        String target = parts[1];
        int query = target.indexOf('?');
        String path = query >= 0 ? target.substring(0, query) : target;
        return new SimRequest(parts[0], path, Map.copyOf(headers), body, keepAlive);
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine(in, false);
            if (sizeLine == null) {
                throw new BadRequest("connection closed inside chunked body");
            }
            int semi = sizeLine.indexOf(';');
            int size;
            try {
                size = Integer.parseInt((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            } catch (NumberFormatException e) {
                throw new BadRequest("bad chunk size");
            }
            if (size < 0 || out.size() + (long) size > MAX_BODY_BYTES) {
                throw new BadRequest("body too large");
            }
            if (size == 0) {
                while (true) { // trailers
                    String trailer = readLine(in, false);
                    if (trailer == null || trailer.isEmpty()) {
                        return out.toByteArray();
                    }
                }
            }
            byte[] chunk = in.readNBytes(size);
            if (chunk.length != size) {
                throw new BadRequest("connection closed inside chunk");
            }
            out.write(chunk);
            readLine(in, false);
        }
    }

    /** Reads a CRLF- or LF-terminated line; null at EOF before any byte. */
    private static String readLine(InputStream in, boolean eofAllowed) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (line.size() == 0) {
                    return null;
                }
                throw new BadRequest("connection closed mid-line");
            }
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            if (line.size() >= MAX_HEADER_BYTES) {
                throw new BadRequest("line too long");
            }
            line.write(b);
        }
    }

    static final class BadRequest extends IOException {
        BadRequest(String message) {
            super(message);
        }
    }
}
