package io.understudy.sim.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * The response side of one request: well-formed answers, and the deliberate misbehaviour
 * the fault modes need (reset, cut, silence).
 */
public final class SimExchange {
    private final Socket socket;
    private final OutputStream out;
    private boolean keepAlive;
    private boolean streaming;

    SimExchange(Socket socket, OutputStream out, boolean keepAliveRequested) {
        this.socket = socket;
        this.out = out;
        this.keepAlive = keepAliveRequested;
    }

    boolean keepAlive() {
        return keepAlive;
    }

    /** A complete answer with a Content-Length. */
    public void send(int status, String contentType, Map<String, String> headers, byte[] body) throws IOException {
        writeHead(status, contentType, headers, "Content-Length: " + body.length);
        out.write(body);
        out.flush();
    }

    /** Headers that promise {@code declaredLength} bytes, then only {@code body}: for cut answers. */
    public void sendPartial(int status, String contentType, byte[] body, int declaredLength) throws IOException {
        keepAlive = false;
        writeHead(status, contentType, Map.of(), "Content-Length: " + declaredLength);
        out.write(body);
        out.flush();
    }

    /** Starts a chunked answer; each {@link #chunk} is flushed at once. */
    public void startStream(int status, String contentType, Map<String, String> headers) throws IOException {
        streaming = true;
        writeHead(status, contentType, headers, "Transfer-Encoding: chunked");
        out.flush();
    }

    public void chunk(String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0) {
            return;
        }
        out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Ends a chunked answer properly. */
    public void endStream() throws IOException {
        if (streaming) {
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            streaming = false;
        }
    }

    /** Closes the connection with a TCP reset (RST), as a crashed peer or middlebox does. */
    public void reset() throws IOException {
        keepAlive = false;
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /** Closes the connection abruptly (FIN) without finishing the answer. */
    public void cut() throws IOException {
        keepAlive = false;
        out.flush();
        socket.close();
    }

    /**
     * Says nothing more until the peer gives up or {@code max} passes. Reads and discards what the
     * peer sends so that its close is noticed at once.
     */
    public void hold(Duration max) throws IOException {
        keepAlive = false;
        out.flush();
        long deadline = System.nanoTime() + max.toNanos();
        InputStream in = socket.getInputStream();
        byte[] sink = new byte[1024];
        while (System.nanoTime() < deadline && !socket.isClosed()) {
            socket.setSoTimeout(200);
            try {
                if (in.read(sink) < 0) {
                    break;
                }
            } catch (java.net.SocketTimeoutException stillThere) {
                // keep holding
            }
        }
        socket.close();
    }

    private void writeHead(int status, String contentType, Map<String, String> headers, String framing) throws IOException {
        StringBuilder head = new StringBuilder(256);
        head.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
        head.append("Content-Type: ").append(contentType).append("\r\n");
        head.append(framing).append("\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        if (!keepAlive) {
            head.append("Connection: close\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Payload Too Large";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            case 529 -> "Overloaded";
            default -> "Status";
        };
    }
}
