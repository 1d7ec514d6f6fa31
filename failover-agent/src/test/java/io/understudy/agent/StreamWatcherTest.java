package io.understudy.agent;

import io.understudy.testkit.Await;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The one thread that checks every stream in flight: each check runs each tick until it says it is done. */
class StreamWatcherTest {
    @Test
    void aCheckRunsEachTickUntilItSaysItIsDoneThenNeverAgain() {
        try (StreamWatcher watcher = new StreamWatcher()) {
            AtomicInteger done = new AtomicInteger();
            watcher.watch(() -> done.incrementAndGet() < 3);
            Await.until("the check ran three times", Duration.ofSeconds(5), () -> done.get() == 3 && watcher.watched() == 0);
            AtomicInteger other = new AtomicInteger();
            watcher.watch(() -> other.incrementAndGet() < 5);
            Await.until("a later check ran five times", Duration.ofSeconds(5), () -> other.get() == 5);
            assertEquals(3, done.get(), "a check that said it was done is not run again");
        }
    }

    @Test
    void aCheckThatThrowsIsDroppedAndTheOthersStayWatched() {
        try (StreamWatcher watcher = new StreamWatcher()) {
            AtomicInteger thrown = new AtomicInteger();
            AtomicInteger healthy = new AtomicInteger();
            watcher.watch(() -> {
                thrown.incrementAndGet();
                throw new IllegalStateException("a bug in one stream's check");
            });
            watcher.watch(() -> healthy.incrementAndGet() < 10);
            Await.until("the healthy check ran ten times", Duration.ofSeconds(5), () -> healthy.get() == 10);
            assertEquals(1, thrown.get(), "a check that threw is not run again");
        }
    }

    @Test
    void anIdleWatcherWakesForTheFirstStreamItIsGiven() {
        try (StreamWatcher watcher = new StreamWatcher()) {
            AtomicInteger first = new AtomicInteger();
            watcher.watch(() -> first.incrementAndGet() < 2);
            Await.until("the first check ran out", Duration.ofSeconds(5), () -> watcher.watched() == 0);
            // nothing to watch now: the thread parks until the next stream comes, then checks it
            AtomicInteger second = new AtomicInteger();
            watcher.watch(() -> second.incrementAndGet() < 2);
            Await.until("the second check ran", Duration.ofSeconds(5), () -> second.get() == 2);
        }
    }
}
