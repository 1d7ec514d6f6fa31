package io.understudy.chaos;

import io.understudy.chaos.LeaderClaims.Observation;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split-brain check over recorded claims: only spans a relay certainly claimed count. */
class LeaderClaimsTest {
    @Test
    void aHandoverWithAGapIsNoOverlap() {
        List<Observation> seen = List.of(
                new Observation("primary-1", 0, 5, true, 6),
                new Observation("primary-1", 50, 55, true, 6),
                new Observation("standby-1", 60, 62, false, 0),
                new Observation("primary-1", 100, 105, false, 0),
                new Observation("standby-1", 110, 112, true, 8),
                new Observation("standby-1", 160, 161, true, 8));
        assertEquals(List.of(new LeaderClaims.Span("primary-1", 6, 5, 50), new LeaderClaims.Span("standby-1", 8, 112, 160)),
                LeaderClaims.spans(seen));
        assertEquals(Optional.empty(), LeaderClaims.overlaps(seen, 0));
    }

    @Test
    void twoRelaysCertainlyClaimingAtTheSameTimeAreASplitBrain() {
        List<Observation> seen = List.of(
                new Observation("primary-1", 0, 5, true, 6),
                new Observation("standby-1", 10, 12, true, 8),
                new Observation("primary-1", 50, 55, true, 6),
                new Observation("standby-1", 60, 62, true, 8));
        Optional<String> split = LeaderClaims.overlaps(seen, 0);
        assertTrue(split.isPresent());
        assertEquals("primary-1 claimed epoch 6 from 5 to 50 ms while standby-1 claimed epoch 8 from 12 to 60 ms (38 ms together)",
                split.get());
        assertEquals(Optional.empty(), LeaderClaims.overlaps(seen, 40), "within the tolerance");
    }

    @Test
    void aClaimAtANewEpochStartsANewSpan() {
        List<Observation> seen = List.of(
                new Observation("primary-1", 0, 5, true, 6),
                new Observation("primary-1", 50, 55, true, 6),
                new Observation("primary-1", 100, 105, true, 9),
                new Observation("primary-1", 150, 155, true, 9));
        assertEquals(List.of(new LeaderClaims.Span("primary-1", 6, 5, 50), new LeaderClaims.Span("primary-1", 9, 105, 150)),
                LeaderClaims.spans(seen));
    }
}
