package io.understudy.primary;

import io.understudy.relay.LeadershipCycle;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayRole;

/**
 * The primary: it campaigns the moment it starts, and after it stops leading (its lease lost, or a
 * switchover to the standby, which it carries out by draining and resigning) it queues in the
 * election again behind the new leader. It claims a won epoch at once: its provider connections
 * are the ones it serves with.
 */
public final class PrimaryRole implements RelayRole {
    @Override
    public RelayConfig.Role role() {
        return RelayConfig.Role.PRIMARY;
    }

    @Override
    public boolean startsCold() {
        return false;
    }

    @Override
    public boolean queuesAfterLeading() {
        return true;
    }

    @Override
    public boolean warmsUpBeforeClaiming() {
        return false;
    }

    /** A primary is never cold; were it ever, a vacant key would be its to take. */
    @Override
    public boolean mayTakeVacantKey(LeadershipCycle.Vacancy vacancy, long now) {
        return vacancy.vacantSince() >= 0;
    }
}
