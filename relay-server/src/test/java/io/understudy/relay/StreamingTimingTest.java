package io.understudy.relay;

import io.understudy.sim.SimConfig;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Streams are relayed chunk by chunk, never buffered to the end. */
class StreamingTimingTest {

    @Test
    void streamChunksReachTheClientAsTheyAreProduced() throws Exception {
        // 6 tokens 150 ms apart: a relay that buffered would deliver them all together at the end.
        SimConfig slow = SimConfig.defaults().withPort(0).withTiming(Duration.ZERO, Duration.ofMillis(150), 6);
        try (RelayHarness h = new RelayHarness(RelayHarness.DEFAULT_YAML, Map.of(), slow)) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(h.base() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"stream\":true,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"timing\"}]}")).build();
            HttpResponse<InputStream> r = h.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            List<Long> arrivals = new ArrayList<>();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (line.startsWith("data: {") && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
                        arrivals.add(System.nanoTime());
                    }
                }
            }
            assertEquals(6, arrivals.size());
            long spreadMillis = Duration.ofNanos(arrivals.get(5) - arrivals.get(0)).toMillis();
            assertTrue(spreadMillis >= 500, "chunks arrived within " + spreadMillis + " ms; they were produced over 750 ms");
        }
    }
}
