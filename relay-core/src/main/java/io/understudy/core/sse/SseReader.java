package io.understudy.core.sse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads server-sent events one at a time, as they arrive (WHATWG event-stream parsing:
 * LF, CRLF or CR line ends, multi-line data, comments ignored). Holds at most one event in memory.
 */
public final class SseReader implements AutoCloseable {
    private static final int DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024;

    private final InputStream in;
    private final int maxEventBytes;
    /**
     * Small on purpose: the stream under it is buffered already (the HTTP client's), chunks are a few
     * hundred bytes, and there is one reader per stream in flight: 2,000 streams held 16 MB in 8 KB buffers.
     */
    private final byte[] buffer = new byte[1024];
    private int position;
    private int limit;
    private boolean lastWasCr;
    private byte[] line = new byte[256];
    private int lineLength;

    public SseReader(InputStream in) {
        this(in, DEFAULT_MAX_EVENT_BYTES);
    }

    public SseReader(InputStream in, int maxEventBytes) {
        this.in = in;
        this.maxEventBytes = maxEventBytes;
    }

    /**
     * Returns the next complete event, or null at the end of the stream. An event still open
     * when the stream ends is dropped, as the specification says: it may be cut.
     */
    public SseEvent next() throws IOException {
        String event = null;
        StringBuilder data = null;
        int size = 0;
        while (true) {
            String text = readLine();
            if (text == null) {
                return null;
            }
            if (text.isEmpty()) {
                if (data != null) {
                    return new SseEvent(event, data.toString());
                }
                event = null;
                continue;
            }
            size += text.length();
            if (size > maxEventBytes) {
                throw new IOException("server-sent event larger than " + maxEventBytes + " bytes");
            }
            if (text.charAt(0) == ':') {
                continue;
            }
            int colon = text.indexOf(':');
            String field = colon < 0 ? text : text.substring(0, colon);
            String value = colon < 0 ? "" : text.substring(colon + 1);
            if (!value.isEmpty() && value.charAt(0) == ' ') {
                value = value.substring(1);
            }
            switch (field) {
                case "data" -> {
                    if (data == null) {
                        data = new StringBuilder(value.length());
                    } else {
                        data.append('\n');
                    }
                    data.append(value);
                }
                case "event" -> event = value;
                default -> {
                    // id, retry and unknown fields carry nothing a relay needs.
                }
            }
        }
    }

    private String readLine() throws IOException {
        lineLength = 0;
        while (true) {
            if (position == limit) {
                limit = in.read(buffer, 0, buffer.length);
                position = 0;
                if (limit <= 0) {
                    limit = 0;
                    return null;
                }
            }
            byte b = buffer[position++];
            if (lastWasCr) {
                lastWasCr = false;
                if (b == '\n') {
                    continue;
                }
            }
            if (b == '\n' || b == '\r') {
                lastWasCr = b == '\r';
                return new String(line, 0, lineLength, StandardCharsets.UTF_8);
            }
            if (lineLength == line.length) {
                if (lineLength >= maxEventBytes) {
                    throw new IOException("server-sent event line longer than " + maxEventBytes + " bytes");
                }
                line = Arrays.copyOf(line, lineLength * 2);
            }
            line[lineLength++] = b;
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
