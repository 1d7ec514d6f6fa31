package io.understudy.sim.http;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Blocking HTTP/1.1 server, one virtual thread per connection, keep-alive supported. */
public final class SimHttpServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SimHttpServer.class.getName());

    /** Handles one request; must answer through the exchange (or misbehave on purpose). */
    @FunctionalInterface
    public interface Handler {
        void handle(SimRequest request, SimExchange exchange) throws IOException;
    }

    private final ServerSocket serverSocket;
    private final Handler handler;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean running = true;

    public SimHttpServer(String host, int port, Handler handler) throws IOException {
        this.handler = handler;
        this.serverSocket = new ServerSocket();
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(host, port), 4096);
        this.acceptor = Thread.ofPlatform().name("sim-accept").daemon(false).start(this::acceptLoop);
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    private void acceptLoop() {
        while (running) {
            try {
                Socket socket = serverSocket.accept();
                open.add(socket);
                Thread.ofVirtual().name("sim-conn").start(() -> serve(socket));
            } catch (IOException e) {
                if (running) {
                    LOG.log(Level.WARNING, "accept failed: " + e.getMessage());
                }
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
            while (running && !socket.isClosed()) {
                SimRequest request;
                try {
                    request = HttpCodec.read(in);
                } catch (HttpCodec.BadRequest e) {
                    byte[] body = ("{\"error\":{\"message\":\"" + e.getMessage()
                            + "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"bad_http\"}}")
                            .getBytes(StandardCharsets.UTF_8);
                    new SimExchange(socket, out, false).send(400, "application/json", Map.of(), body);
                    return;
                }
                if (request == null) {
                    return;
                }
                SimExchange exchange = new SimExchange(socket, out, request.keepAlive());
                handler.handle(request, exchange);
                if (!exchange.keepAlive() || socket.isClosed()) {
                    return;
                }
            }
        } catch (IOException e) {
            // the peer went away; nothing to answer
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "simulator handler failed", e);
        } finally {
            open.remove(socket);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            serverSocket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
