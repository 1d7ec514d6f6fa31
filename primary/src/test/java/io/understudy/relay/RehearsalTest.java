package io.understudy.relay;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rehearsal a relay process runs after it starts: every kind it rehearses is served, and it yields to real traffic. */
class RehearsalTest {
    private final RelayConfig shipped = RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get);

    @Test
    void everyRehearsedRequestKindIsServedByTheRelaysOwnCodeAgainstTheSimulator() {
        Rehearsal.Result r = Rehearsal.run(shipped, Duration.ofSeconds(3), () -> false);
        // one round is one request of each kind (chat, streamed chat, Messages, streamed Messages, embeddings, models)
        assertTrue(r.requests() >= 6, "at least one round: " + r);
        assertEquals(0, r.failed(), "a kind that fails is a path the rehearsal does not warm: " + r);
        assertTrue(List.of("at its bound", "the JIT had nothing more to compile").contains(r.ended()), r.toString());
    }

    @Test
    void itStopsWhenRealRequestsArrive() {
        Rehearsal.Result r = Rehearsal.run(shipped, Duration.ofSeconds(30), () -> true);
        assertEquals("real requests arrived", r.ended(), r.toString());
    }

    @Test
    void aZeroBoundRehearsesNothing() {
        assertEquals(new Rehearsal.Result(0, 0, 0, "off", ""), Rehearsal.run(shipped, Duration.ZERO, () -> false));
    }
}
