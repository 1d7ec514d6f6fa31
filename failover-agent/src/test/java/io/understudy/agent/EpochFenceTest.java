package io.understudy.agent;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EpochFenceTest {
    @Test
    void olderEpochsAreRejectedAndCounted() {
        EpochFence fence = new EpochFence();
        assertTrue(fence.admit(5));
        assertTrue(fence.admit(5), "the same leader again");
        assertTrue(fence.admit(9), "a newer leader");
        assertFalse(fence.admit(5), "the old leader waking up");
        assertEquals(9, fence.current());
        assertEquals(1, fence.rejected());
    }
}
