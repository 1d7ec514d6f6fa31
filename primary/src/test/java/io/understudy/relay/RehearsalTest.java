package io.understudy.relay;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rehearsal a relay process runs before it listens: every request kind it rehearses is served. */
class RehearsalTest {

    @Test
    void everyRehearsedRequestKindIsServedByTheRelaysOwnCodeAgainstTheSimulator() {
        RelayConfig shipped = RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get);
        Rehearsal.Result r = Rehearsal.run(shipped, Duration.ofSeconds(1));
        // one round is one request of each kind (chat, streamed chat, Messages, streamed Messages, embeddings, models)
        assertTrue(r.requests() >= 6, "at least one round: " + r);
        assertEquals(0, r.failed(), "a kind that fails is a path the rehearsal does not warm: " + r);
    }

    @Test
    void aZeroRehearsalDoesNothing() {
        RelayConfig shipped = RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get);
        assertEquals(new Rehearsal.Result(0, 0, 0, ""), Rehearsal.run(shipped, Duration.ZERO));
    }
}
