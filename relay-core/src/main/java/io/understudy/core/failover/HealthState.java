package io.understudy.core.failover;

/**
 * What health checks say of an upstream. An agent's probes drive it (see the agent's
 * {@code InstanceHealth}); an upstream nobody probes stays {@link #UNKNOWN} and is used.
 */
public enum HealthState {
    UNKNOWN, UP, SUSPECT, DOWN;

    /** May carry traffic at all (SUSPECT only when nothing better is available). */
    public boolean usable() {
        return this != DOWN;
    }
}
