package io.understudy.core.routing;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SloStateTest {
    /** p99 first token within 2 s; a share moves 0.25 at most every 10 s. */
    private static final Slo SLO = new Slo("gpt-4o", Duration.ofSeconds(2), Duration.ofMinutes(1), 20, 0.25, Duration.ofSeconds(10));
    private static final OptionalLong SLOW = OptionalLong.of(3_000);
    private static final OptionalLong FAST = OptionalLong.of(900);
    /** Within the objective but above 80% of it: the hysteresis band. */
    private static final OptionalLong HOVERING = OptionalLong.of(1_800);

    @Test
    void aBreachCutsTheShareOneStepPerIntervalDownToTheFloor() {
        SloState s = SloState.initial().next(SLO, SLOW, 100, 0);
        assertEquals(SloState.Verdict.BREACHES, s.verdict());
        assertEquals(0.75, s.share(), 1e-9);
        assertSame(s, s.next(SLO, SLOW, 100, 9_999), "a second look within the interval changes nothing");
        for (int i = 1; i <= 10; i++) {
            s = s.next(SLO, SLOW, 100, i * 10_000L);
        }
        assertEquals(SloState.FLOOR, s.share(), 1e-9);
        assertEquals(4, s.shiftsAway(), "1 -> 0.75 -> 0.5 -> 0.25 -> floor; then held there");
        assertTrue(s.reason().startsWith("p99 first token 3000 ms > 2000 ms: breaching"), s.reason());
    }

    @Test
    void inTheHysteresisBandTheShareHoldsEitherWay() {
        SloState breached = SloState.initial().next(SLO, SLOW, 100, 0);
        SloState held = breached.next(SLO, HOVERING, 100, 10_000);
        assertEquals(breached.share(), held.share(), 1e-9);
        assertEquals(SloState.Verdict.BREACHES, held.verdict(), "not yet meeting with room to spare");
        SloState meeting = SloState.initial().next(SLO, FAST, 100, 0).next(SLO, HOVERING, 100, 10_000);
        assertEquals(1.0, meeting.share(), 1e-9);
        assertEquals(SloState.Verdict.MEETS, meeting.verdict());
    }

    @Test
    void meetingAgainGivesTheShareBackOneStepPerInterval() {
        SloState s = SloState.initial();
        for (int i = 0; i < 4; i++) {
            s = s.next(SLO, SLOW, 100, i * 10_000L);
        }
        assertEquals(SloState.FLOOR, s.share(), 1e-9);
        s = s.next(SLO, FAST, 100, 40_000);
        assertEquals(SloState.FLOOR + 0.25, s.share(), 1e-9);
        assertEquals(SloState.Verdict.MEETS, s.verdict());
        s = s.next(SLO, FAST, 100, 50_000).next(SLO, FAST, 100, 60_000).next(SLO, FAST, 100, 70_000);
        assertEquals(1.0, s.share(), 1e-9);
        assertEquals(4, s.shiftsBack(), "floor -> 0.35 -> 0.6 -> 0.85 -> 1");
    }

    @Test
    void tooFewSamplesIsNoEvidenceOfABreachSoTheShareCreepsBack() {
        SloState s = SloState.initial().next(SLO, SLOW, 100, 0).next(SLO, SLOW, 100, 10_000);
        SloState after = s.next(SLO, OptionalLong.empty(), 3, 20_000);
        assertEquals(SloState.Verdict.UNKNOWN, after.verdict());
        assertEquals(s.share() + 0.25, after.share(), 1e-9);
        assertTrue(after.reason().contains("3 first tokens in the window, fewer than 20"), after.reason());
    }
}
