package io.understudy.chaos;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.testkit.ToxiproxyServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How scenario 03 lifts its slow primary since CI run 116, where removing the latency toxic
 * deadlocked Toxiproxy: recreating the proxy takes the toxic off on the same port.
 */
class ToxiproxyRecreateTest {
    @Test
    void aSlowProxyRecreatedPassesDataAtOnceOnTheSamePort(@TempDir Path dir) throws Exception {
        try (ToxiproxyServer toxiproxy = new ToxiproxyServer(dir);
             ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> echoEach(echo));
            Proxy proxy = toxiproxy.proxy("slow", echo.getLocalPort());
            proxy.toxics().latency("slow", ToxicDirection.DOWNSTREAM, 5_000);
            int port = ToxiproxyServer.port(proxy);

            assertThrows(SocketTimeoutException.class, () -> echoThrough(port), "the latency toxic holds the answer");
            toxiproxy.recreate(proxy);

            assertEquals("ping", echoThrough(port), "the recreated proxy answers at once on the same port");
            assertTrue(proxy.toxics().getAll().isEmpty(), "no toxic left");
        }
    }

    /** Sends "ping" through the proxy and reads it back, waiting 2 s at most. */
    private static String echoThrough(int port) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(2_000);
            socket.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            byte[] answer = socket.getInputStream().readNBytes(4);
            return new String(answer, StandardCharsets.US_ASCII);
        }
    }

    private static void echoEach(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread.ofVirtual().start(() -> {
                    try (client; InputStream in = client.getInputStream(); OutputStream out = client.getOutputStream()) {
                        in.transferTo(out);
                    } catch (IOException ignored) {
                        // the test closed it
                    }
                });
            } catch (IOException closed) {
                return;
            }
        }
    }
}
