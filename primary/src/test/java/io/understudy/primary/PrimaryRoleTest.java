package io.understudy.primary;

import io.understudy.relay.LeadershipCycle.Vacancy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a primary does differently: it campaigns at start, claims without a warm-up, and queues again after leading. */
class PrimaryRoleTest {
    private final PrimaryRole primary = new PrimaryRole();

    @Test
    void campaignsAtStartClaimsAtOnceAndQueuesAgainAfterLeading() {
        assertFalse(primary.startsCold());
        assertFalse(primary.warmsUpBeforeClaiming(), "its provider connections are the ones it serves with");
        assertTrue(primary.queuesAfterLeading(), "after a switchover away from it, it queues behind the new leader");
        assertTrue(primary.mayTakeVacantKey(new Vacancy(1_000, 0, 0, -1), 1_000));
        assertFalse(primary.mayTakeVacantKey(new Vacancy(-1, 0, 0, -1), 1_000));
    }
}
