package io.understudy.core.sse;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Writes server-sent events and flushes each one, so nothing waits in a buffer. */
public final class SseWriter {
    private final OutputStream out;

    public SseWriter(OutputStream out) {
        this.out = out;
    }

    public void write(SseEvent event) throws IOException {
        out.write(encode(event));
        out.flush();
    }

    public static byte[] encode(SseEvent event) {
        StringBuilder sb = new StringBuilder(event.data().length() + 32);
        if (event.event() != null) {
            sb.append("event: ").append(event.event()).append('\n');
        }
        int start = 0;
        String data = event.data();
        while (true) {
            int nl = data.indexOf('\n', start);
            sb.append("data: ").append(data, start, nl < 0 ? data.length() : nl).append('\n');
            if (nl < 0) {
                break;
            }
            start = nl + 1;
        }
        sb.append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
