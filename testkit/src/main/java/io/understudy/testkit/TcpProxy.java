package io.understudy.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on a loopback port that can misbehave on command: forward ({@link Mode#PASS}),
 * accept and go silent ({@link Mode#BLACKHOLE}, also freezing connections already open), or
 * refuse connections ({@link Mode#REFUSE}). {@link #cutAll()} resets every open connection.
 * For in-JVM tests; the chaos suite uses a real Toxiproxy.
 */
public final class TcpProxy implements AutoCloseable {
    public enum Mode { PASS, BLACKHOLE, REFUSE }

    private final int targetPort;
    private final int port;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.PASS;
    private volatile ServerSocket listener;
    private volatile boolean closed;

    public TcpProxy(int targetPort) {
        this.targetPort = targetPort;
        this.listener = bind(0);
        this.port = listener.getLocalPort();
        startAccepting(listener);
    }

    public int port() {
        return port;
    }

    public Mode mode() {
        return mode;
    }

    public synchronized void mode(Mode newMode) {
        Mode old = mode;
        mode = newMode;
        if (newMode == Mode.REFUSE && old != Mode.REFUSE) {
            closeQuietly(listener);
            cutAll();
        } else if (old == Mode.REFUSE && newMode != Mode.REFUSE) {
            listener = bind(port);
            startAccepting(listener);
        }
    }

    /**
     * Registers a socket unless the proxy refuses or is closed; then the socket is reset instead.
     * Synchronised with {@link #mode(Mode)} so a connection accepted just before a switch to
     * REFUSE cannot slip past the cut and keep serving.
     */
    private synchronized boolean track(Socket s) {
        if (closed || mode == Mode.REFUSE) {
            try {
                s.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // closing anyway
            }
            closeQuietly(s);
            return false;
        }
        sockets.add(s);
        return true;
    }

    /** Resets every open connection (a peer that dies mid-answer). */
    public void cutAll() {
        for (Socket s : sockets) {
            try {
                s.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // closing anyway
            }
            closeQuietly(s);
        }
        sockets.clear();
    }

    private ServerSocket bind(int p) {
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", p), 512);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void startAccepting(ServerSocket server) {
        Thread.ofVirtual().name("proxy-accept-" + port).start(() -> {
            while (!closed && !server.isClosed()) {
                try {
                    Socket client = server.accept();
                    client.setTcpNoDelay(true);
                    if (track(client)) {
                        Thread.ofVirtual().start(() -> serve(client));
                    }
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private void serve(Socket client) {
        if (mode == Mode.BLACKHOLE) {
            drain(client);
            return;
        }
        try {
            Socket upstream = new Socket("127.0.0.1", targetPort);
            upstream.setTcpNoDelay(true);
            if (!track(upstream)) {
                closeQuietly(client);
                return;
            }
            Thread.ofVirtual().start(() -> pump(upstream, client));
            pump(client, upstream);
        } catch (IOException e) {
            closeQuietly(client);
        }
    }

    /** Copies bytes; in BLACKHOLE mode it swallows them, so an open connection goes silent too. */
    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (from; to) {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                if (mode != Mode.BLACKHOLE) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
            }
        } catch (IOException ignored) {
            // one side went away; closing both
        } finally {
            sockets.remove(from);
            sockets.remove(to);
        }
    }

    private void drain(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[4096];
            while (in.read(buffer) >= 0) {
                // accept everything, answer nothing
            }
        } catch (IOException ignored) {
            // gone
        } finally {
            sockets.remove(client);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        closeQuietly(listener);
        cutAll();
    }
}
