package io.understudy.cli;

import io.understudy.core.Json;
import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdGateway;
import io.understudy.core.etcd.EtcdKv;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.core.etcd.EtcdUnavailable;
import io.understudy.testkit.EtcdProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI's etcd client (the JSON gateway) against a real etcd, read side by side with the relays'
 * jetcd client: the same key layout reads the same facts through both.
 */
class EtcdGatewayTest {
    @TempDir
    static Path dir;
    private static EtcdProcess etcdProcess;
    private static Etcd grpc;
    private static EtcdGateway gateway;

    @BeforeAll
    static void start() {
        etcdProcess = new EtcdProcess(dir);
        EtcdSettings settings = new EtcdSettings(List.of(URI.create(etcdProcess.endpoint())), "gw", Optional.empty(),
                Optional.empty(), Optional.empty(), Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(2));
        grpc = new Etcd(settings);
        gateway = new EtcdGateway(settings);
    }

    @AfterAll
    static void stop() {
        if (grpc != null) {
            grpc.close();
        }
        if (etcdProcess != null) {
            etcdProcess.close();
        }
    }

    @Test
    void bothClientsReadTheSameLeaderRegistrationsCommandAndHistory() throws Exception {
        ClusterState viaGrpc = new ClusterState(grpc);
        ClusterState viaGateway = new ClusterState(gateway);
        assertEquals(Optional.empty(), viaGateway.leader(), "a vacant key is no leader, not an error");

        long lease = grpc.await(grpc.client().getLeaseClient().grant(5)).getID();
        grpc.await(grpc.client().getElectionClient().campaign(grpc.electionName(), lease,
                Etcd.bytes("{\"instance\":\"primary-1\",\"role\":\"primary\",\"url\":\"http://p/v1\"}")));
        viaGrpc.register("members", "primary-1", Json.object().put("instance", "primary-1").put("updated_ms",
                System.currentTimeMillis()), lease);
        ClusterState.Command command = new ClusterState.Command("c1", "promote", "standby", "test", "ops", false, 1);
        viaGateway.putCommand(command);
        viaGateway.appendHistory(2, Json.object().put("to", "b"));
        viaGateway.appendHistory(1, Json.object().put("to", "a"));

        assertEquals(viaGrpc.leader(), viaGateway.leader());
        assertEquals("primary-1", viaGateway.leader().orElseThrow().instance());
        assertEquals(lease, viaGateway.leader().orElseThrow().lease());
        assertEquals(1, viaGateway.candidates());
        assertEquals(viaGrpc.registered("members"), viaGateway.registered("members"));
        assertEquals(Optional.of(command), viaGrpc.command());
        assertEquals(List.of("a", "b"), viaGateway.history().stream().map(h -> h.path("to").asText()).toList(), "oldest first");
        assertTrue(viaGateway.leaseSecondsLeft(lease) > 0);

        viaGateway.clearCommand(new ClusterState.Command("other", "promote", "standby", "test", "ops", false, 1));
        assertEquals(Optional.of(command), viaGateway.command(), "a newer command is never cleared by an older one");
        viaGateway.clearCommand(command);
        assertEquals(Optional.empty(), viaGrpc.command());

        viaGateway.revoke(lease); // fencing, as `promote --force` does
        assertEquals(Optional.empty(), viaGrpc.leader());
        assertEquals(List.of(), viaGateway.registered("members"), "a registration lives on its lease");
        assertEquals(-1, viaGateway.leaseSecondsLeft(lease));
    }

    @Test
    void anUnreachableEtcdIsOneClearErrorNamingEveryEndpointTried() {
        EtcdGateway nowhere = new EtcdGateway(new EtcdSettings(List.of(URI.create("http://127.0.0.1:1"),
                URI.create("http://127.0.0.1:2")), "gw", Optional.empty(), Optional.empty(), Optional.empty(),
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(500)));
        EtcdUnavailable e = assertThrows(EtcdUnavailable.class, () -> new ClusterState(nowhere).leader());
        assertTrue(e.getMessage().startsWith("no endpoint answered (http://127.0.0.1:1: "), e.getMessage());
        assertTrue(e.getMessage().contains("http://127.0.0.1:2: "), e.getMessage());
    }

    @Test
    void aPrefixRangeEndsJustPastEveryKeyWithThatPrefix() {
        assertArrayEquals("/a0".getBytes(), EtcdKv.prefixEnd("/a/".getBytes()));
        assertArrayEquals(new byte[] {'a', 'c'}, EtcdKv.prefixEnd(new byte[] {'a', 'b', (byte) 0xff}));
        assertArrayEquals(new byte[] {0}, EtcdKv.prefixEnd(new byte[] {(byte) 0xff}));
    }
}
