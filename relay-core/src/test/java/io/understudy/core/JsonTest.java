package io.understudy.core;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    /**
     * Regression: Jackson's default pool kept a set of parse buffers per thread for the thread's life,
     * so each open stream (a virtual thread reading it) held about 17 KB. A set released on one thread
     * must be there for the next thread to take.
     */
    @Test
    void parseBuffersReleasedOnOneThreadServeAnotherNotKeptPerStream() throws InterruptedException {
        RecyclerPool<BufferRecycler> pool = Json.mapper().getFactory()._getRecyclerPool();
        AtomicReference<BufferRecycler> released = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            BufferRecycler mine = pool.acquireAndLinkPooled();
            released.set(mine);
            mine.releaseToPool();
        }).join();

        List<BufferRecycler> taken = new ArrayList<>();
        Thread.ofVirtual().start(() -> {
            for (int i = 0; i < 4 * Runtime.getRuntime().availableProcessors() + 1; i++) {
                taken.add(pool.acquireAndLinkPooled());
            }
        }).join();
        taken.forEach(BufferRecycler::releaseToPool);

        assertTrue(taken.stream().anyMatch(r -> r == released.get()),
                "the buffers another thread released were not offered to this one: the pool is per thread");
    }

    @Test
    void parsesAndWritesThroughTheSharedPool() throws Exception {
        byte[] body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(Json.text(Json.parse(body)).contains("\"content\":\"hi\""));
    }
}
