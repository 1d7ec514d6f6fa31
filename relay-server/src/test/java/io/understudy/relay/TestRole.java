package io.understudy.relay;

/**
 * Role objects for this module's tests, which cannot see {@code primary/} and {@code standby/}:
 * their answers written as data (each module's own tests check its real role against these rules).
 */
record TestRole(RelayConfig.Role role, boolean startsCold, boolean queuesAfterLeading, boolean warmsUpBeforeClaiming,
                long vacancyGraceMillis) implements RelayRole {
    static final TestRole PRIMARY_LIKE = new TestRole(RelayConfig.Role.PRIMARY, false, true, false, 0);
    static final TestRole STANDBY_LIKE = new TestRole(RelayConfig.Role.STANDBY, true, false, true, 200);

    /** The role whose name {@code config} carries. */
    static TestRole of(RelayConfig config) {
        return config.role() == RelayConfig.Role.PRIMARY ? PRIMARY_LIKE : STANDBY_LIKE;
    }

    @Override
    public boolean mayTakeVacantKey(LeadershipCycle.Vacancy vacancy, long now) {
        return vacancy.vacantSince() >= 0 && now - vacancy.vacantSince() >= vacancyGraceMillis;
    }
}
