package io.understudy.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.election.LeaderKey;
import io.understudy.core.Json;
import io.understudy.core.etcd.Etcd;
import io.understudy.core.etcd.EtcdKv;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.testkit.Await;
import io.understudy.testkit.EtcdProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fleet's worth of watchers on one etcd: 200 independent watch streams on the election prefix,
 * each on its own HTTP connection to etcd's gateway (each a watcher etcd must serve and notify,
 * as 200 agents' observers would be), see the leader key change when the leader resigns and a
 * queued candidate takes over. Every watcher must see it; the distribution of how long after the
 * change each saw it is written to {@code target/fleet-of-watchers.txt} (the target is 200 ms p99).
 */
class FleetOfWatchersTest {
    private static final int WATCHERS = 200;

    @TempDir
    Path dir;

    @Test
    void twoHundredWatchersAllSeeAPromotionAndTheDistributionIsReported() throws Exception {
        try (EtcdProcess etcdProcess = new EtcdProcess(dir);
             Etcd etcd = new Etcd(new EtcdSettings(List.of(URI.create(etcdProcess.endpoint())), "fleet", Optional.empty(),
                     Optional.empty(), Optional.empty(), Duration.ofSeconds(10), Duration.ofSeconds(3), Duration.ofSeconds(2)))) {
            long leaseA = etcd.await(etcd.client().getLeaseClient().grant(30)).getID();
            LeaderKey a = etcd.await(etcd.client().getElectionClient().campaign(etcd.electionName(), leaseA, Etcd.bytes("primary-1")))
                    .getLeader();
            long leaseB = etcd.await(etcd.client().getLeaseClient().grant(30)).getID();
            var b = etcd.client().getElectionClient().campaign(etcd.electionName(), leaseB, Etcd.bytes("standby-1"));
            Await.until("standby-1 queued", Duration.ofSeconds(5), () -> etcd.countPrefix(etcd.settings().electionName() + "/") == 2);

            String leaderKey = a.getKey().toString(StandardCharsets.UTF_8);
            AtomicLongArray seenAt = new AtomicLongArray(WATCHERS);
            CountDownLatch created = new CountDownLatch(WATCHERS);
            List<CompletableFuture<HttpResponse<InputStream>>> streams = new ArrayList<>();
            List<HttpClient> clients = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            try {
                for (int i = 0; i < WATCHERS; i++) {
                    int watcher = i;
                    // a client of its own per watcher: its own connection, as each agent has
                    HttpClient own = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                    clients.add(own);
                    CompletableFuture<HttpResponse<InputStream>> stream = own.sendAsync(watchRequest(etcdProcess.endpoint(),
                            etcd.settings().electionName() + "/"), HttpResponse.BodyHandlers.ofInputStream());
                    streams.add(stream);
                    readers.add(Thread.ofVirtual().start(() -> read(stream, leaderKey, watcher, created, seenAt)));
                }
                assertTrue(created.await(30, TimeUnit.SECONDS), "every watch stream established");

                long changedAt = System.nanoTime();
                etcd.await(etcd.client().getElectionClient().resign(a)); // the leader key changes: standby-1 leads
                etcd.await(b); // (its campaign returns once it leads)
                Await.until("every watcher saw the change", Duration.ofSeconds(10), () -> seen(seenAt) == WATCHERS);

                long[] millis = new long[WATCHERS];
                for (int i = 0; i < WATCHERS; i++) {
                    millis[i] = Math.max(0, (seenAt.get(i) - changedAt) / 1_000_000);
                }
                Arrays.sort(millis);
                String report = "fleet of watchers: " + WATCHERS + " independent watch streams on one etcd; the leader key "
                        + "changed (leader resigned, queued candidate leads); each watcher saw it after: p50 "
                        + millis[WATCHERS / 2] + " ms, p90 " + millis[WATCHERS * 9 / 10 - 1] + " ms, p99 "
                        + millis[WATCHERS * 99 / 100 - 1] + " ms, max " + millis[WATCHERS - 1] + " ms (target: 200 ms p99)";
                System.out.println(report);
                Path out = Path.of("target", "fleet-of-watchers.txt");
                Files.createDirectories(out.getParent());
                Files.writeString(out, report + System.lineSeparator());
                assertEquals(WATCHERS, seen(seenAt));
            } finally {
                streams.forEach(s -> s.thenAccept(r -> closeQuietly(r.body())).cancel(true));
                readers.forEach(Thread::interrupt);
                clients.forEach(HttpClient::shutdownNow); // their selector threads and connections end with the test
            }
        }
    }

    private static HttpRequest watchRequest(String endpoint, String prefix) {
        byte[] start = prefix.getBytes(StandardCharsets.UTF_8);
        JsonNode body = Json.object().set("create_request", Json.object()
                .put("key", Base64.getEncoder().encodeToString(start))
                .put("range_end", Base64.getEncoder().encodeToString(EtcdKv.prefixEnd(start))));
        return HttpRequest.newBuilder(URI.create(endpoint + "/v3/watch"))
                .POST(HttpRequest.BodyPublishers.ofString(Json.text(body))).build();
    }

    /** Reads one watch stream: counts it created, and records when it first sees the leader key deleted. */
    private static void read(CompletableFuture<HttpResponse<InputStream>> stream, String leaderKey, int watcher,
                             CountDownLatch created, AtomicLongArray seenAt) {
        String deletedKey = Base64.getEncoder().encodeToString(leaderKey.getBytes(StandardCharsets.UTF_8));
        try (InputStream body = stream.get(30, TimeUnit.SECONDS).body();
             Stream<String> lines = new java.io.BufferedReader(new java.io.InputStreamReader(body, StandardCharsets.UTF_8)).lines()) {
            for (String line : (Iterable<String>) lines::iterator) {
                JsonNode result = Json.parse(line).path("result");
                if (result.path("created").asBoolean(false)) {
                    created.countDown();
                }
                for (JsonNode event : result.path("events")) {
                    if (event.path("type").asText().equals("DELETE") && event.path("kv").path("key").asText().equals(deletedKey)) {
                        seenAt.compareAndSet(watcher, 0, System.nanoTime());
                        return;
                    }
                }
            }
        } catch (Exception closed) {
            // the test is over, or the stream failed: an unseen change fails the test above
        }
    }

    private static int seen(AtomicLongArray seenAt) {
        int n = 0;
        for (int i = 0; i < seenAt.length(); i++) {
            n += seenAt.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing a stream the server may have closed already
        }
    }
}
