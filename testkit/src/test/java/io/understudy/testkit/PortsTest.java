package io.understudy.testkit;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

class PortsTest {
    /**
     * Regression (ci87): a block drawn inside the ephemeral range lost its fourth port to an outgoing
     * connection before `up` bound it ("cannot start the agent ... address in use").
     */
    @Test
    void aFreeBlockLiesBelowTheEphemeralRangeAndCanBeBound() throws Exception {
        int low = Integer.parseInt(String.join(" ", Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))).trim()
                .split("\\s+")[0]);
        for (int i = 0; i < 20; i++) {
            int base = Ports.freeBlock(6);
            assertTrue(base >= 10_000 && base + 6 <= low, base + " .. " + (base + 5) + " below " + low);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", base + 5));
            }
        }
    }
}
