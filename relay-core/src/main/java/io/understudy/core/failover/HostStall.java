package io.understudy.core.failover;

/**
 * How much of a span of waiting this host's own threads lost: time they should have run and did
 * not (a timer woke late, or a virtual thread waited for a carrier). A wait on an upstream that ran
 * out with nothing back says nothing about the upstream only when the host lost a good part of it,
 * since the upstream had the rest. The line is half: a tick 60 ms late during a 400 ms probe leaves
 * a silent relay 340 ms to answer, and its silence is its own.
 */
public record HostStall(long lostMillis, long spanMillis) {
    public static final HostStall NONE = new HostStall(0, 0);

    public HostStall {
        lostMillis = Math.max(0, Math.min(lostMillis, spanMillis));
    }

    /** Whether the host lost at least half the span: then a silence in it is no verdict. */
    public boolean explainsSilence() {
        return spanMillis > 0 && lostMillis * 2 >= spanMillis;
    }

    @Override
    public String toString() {
        return "this host's threads lost " + lostMillis + " of " + spanMillis + " ms";
    }
}
