package io.understudy.agent;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RetryBudgetTest {
    private final AtomicLong now = new AtomicLong(100_000);
    private final RetryBudget budget = new RetryBudget(0.2, 3, Duration.ofSeconds(10), now::get);

    @Test
    void allowsTheFloorEvenWithoutTraffic() {
        assertTrue(budget.tryAcquireRetry());
        assertTrue(budget.tryAcquireRetry());
        assertTrue(budget.tryAcquireRetry());
        assertFalse(budget.tryAcquireRetry());
        assertEquals(1, budget.snapshot().exhaustedTotal());
    }

    @Test
    void retriesStayUnderTwentyPercentOfRequests() {
        for (int i = 0; i < 100; i++) {
            budget.recordRequest();
        }
        int granted = 0;
        for (int i = 0; i < 100; i++) {
            if (budget.tryAcquireRetry()) {
                granted++;
            }
        }
        assertEquals(20, granted);
    }

    @Test
    void theWindowSlides() {
        for (int i = 0; i < 3; i++) {
            assertTrue(budget.tryAcquireRetry());
        }
        assertFalse(budget.tryAcquireRetry());
        now.addAndGet(5_000);
        assertFalse(budget.tryAcquireRetry(), "still inside the 10 s window");
        now.addAndGet(5_001);
        assertTrue(budget.tryAcquireRetry(), "old retries fell out of the window");
    }
}
