package io.understudy.agent;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Only a newer-or-equal epoch may say who leads. A relay frozen past its lease may wake up still
 * believing it leads and stamp answers with its old epoch; those claims are counted and ignored.
 */
final class EpochFence {
    private final AtomicLong current = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();

    /** Records a claim; true when it may be believed (its epoch is not older than the newest seen). */
    boolean admit(long epoch) {
        while (true) {
            long now = current.get();
            if (epoch < now) {
                rejected.incrementAndGet();
                return false;
            }
            if (epoch == now || current.compareAndSet(now, epoch)) {
                return true;
            }
        }
    }

    long current() {
        return current.get();
    }

    long rejected() {
        return rejected.get();
    }
}
