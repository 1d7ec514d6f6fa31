package io.understudy.relay;

/**
 * What differs between a primary and a standby relay. Everything else, the leadership loop
 * included, is this module's and the same for both; {@code primary/} and {@code standby/} each hold
 * one implementation and the entry point that runs a relay with it. {@link LeadershipCycle} asks
 * these questions, so its ladder stays in one file for both roles.
 */
public interface RelayRole {
    /** The role this relay announces (headers, registration, history). */
    RelayConfig.Role role();

    /** A standby starts cold and waits for a vacancy or a promotion; a primary campaigns at start. */
    boolean startsCold();

    /** Once it no longer leads (stepped down, or handed over): queue in the election again, or go cold. */
    boolean queuesAfterLeading();

    /** Whether it opens its provider connections (for at most 2 s) after winning, before it claims. */
    boolean warmsUpBeforeClaiming();

    /** Whether a cold relay may take the leader key, vacant as {@code vacancy} says, at {@code now}. */
    boolean mayTakeVacantKey(LeadershipCycle.Vacancy vacancy, long now);
}
