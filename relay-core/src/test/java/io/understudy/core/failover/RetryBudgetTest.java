package io.understudy.core.failover;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The budget's arithmetic on a fake clock: 20% of requests plus a reserve of 1 retry per second of a 10 s window. */
class RetryBudgetTest {
    private final AtomicLong now = new AtomicLong(100_000);
    private final RetryBudget budget = new RetryBudget(0.2, 1, Duration.ofSeconds(10), now::get);

    private int drain() {
        int granted = 0;
        for (int i = 0; i < 10_000 && budget.tryAcquireRetry(); i++) {
            granted++;
        }
        return granted;
    }

    @Test
    void aColdAgentHasTheWholeReserveAtOnce() {
        assertEquals(10, drain(), "1 per second over 10 s, before any request was seen");
        assertEquals(1, budget.snapshot().exhaustedTotal());
    }

    @Test
    void theShareOfRequestsComesOnTopOfTheReserve() {
        for (int i = 0; i < 100; i++) {
            budget.recordRequest();
        }
        assertEquals(10 + 20, drain());
    }

    @Test
    void redirectsAreCountedButNeverRefusedNorSpent() {
        assertEquals(10, drain());
        for (int i = 0; i < 500; i++) {
            budget.recordRedirect();
        }
        RetryBudget.Snapshot s = budget.snapshot();
        assertEquals(500, s.redirects());
        assertEquals(500, s.redirectsTotal());
        assertEquals(10, s.retries());
        now.addAndGet(10_001);
        assertTrue(budget.tryAcquireRetry(), "redirects did not eat into the next window");
        assertEquals(0, budget.snapshot().redirects(), "the window forgets them");
        assertEquals(500, budget.snapshot().redirectsTotal(), "the total does not");
    }

    @Test
    void theWindowSlides() {
        assertEquals(10, drain());
        now.addAndGet(5_000);
        assertFalse(budget.tryAcquireRetry(), "still inside the 10 s window");
        now.addAndGet(5_001);
        assertTrue(budget.tryAcquireRetry(), "old retries fell out of the window");
    }

    @Test
    void oneDecisionSpendsAtMostOneRetryHoweverOftenItAsks() {
        AtomicLong now = new AtomicLong(0);
        RetryBudget budget = new RetryBudget(0.0, 2, Duration.ofSeconds(10), now::get);
        var decision = budget.askOnce();
        assertTrue(decision.getAsBoolean());
        assertTrue(decision.getAsBoolean(), "the same answer again");
        assertEquals(1, budget.snapshot().retriesTotal());
        var next = budget.askOnce();
        assertTrue(next.getAsBoolean());
        assertEquals(2, budget.snapshot().retriesTotal(), "the next decision asks afresh");
    }
}
