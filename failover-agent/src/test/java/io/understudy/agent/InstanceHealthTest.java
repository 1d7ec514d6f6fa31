package io.understudy.agent;

import io.understudy.core.failover.HostStall;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static io.understudy.core.failover.HealthState.DOWN;
import static io.understudy.core.failover.HealthState.SUSPECT;
import static io.understudy.core.failover.HealthState.UNKNOWN;
import static io.understudy.core.failover.HealthState.UP;
import static org.junit.jupiter.api.Assertions.assertEquals;

class InstanceHealthTest {
    private final AtomicLong now = new AtomicLong(1000);
    private final InstanceHealth health = new InstanceHealth("primary-1", 2, 2, now::get);
    private final List<InstanceHealth.Transition> seen = new ArrayList<>();

    {
        health.onTransition(seen::add);
    }

    @Test
    void startsUnknownAndGoesUpOnFirstGoodProbe() {
        assertEquals(UNKNOWN, health.state());
        health.probeSucceeded();
        assertEquals(UP, health.state());
        assertEquals(1, seen.size());
    }

    @Test
    void oneFailureIsSuspectTwoAreDown() {
        health.probeSucceeded();
        health.probeFailed("timeout");
        assertEquals(SUSPECT, health.state());
        now.addAndGet(1000);
        health.probeFailed("timeout");
        assertEquals(DOWN, health.state());
        assertEquals(2000, health.sinceMillis());
        assertEquals("2 probes failed in a row: timeout", seen.get(seen.size() - 1).reason());
    }

    @Test
    void aBlipRecoversOnOneGoodProbe() {
        health.probeSucceeded();
        health.probeFailed("reset");
        health.probeSucceeded();
        assertEquals(UP, health.state());
    }

    @Test
    void downNeedsRiseGoodProbesInARow() {
        health.probeFailed("refused");
        health.probeFailed("refused");
        assertEquals(DOWN, health.state());
        health.probeSucceeded();
        assertEquals(DOWN, health.state(), "one good probe is not a recovery");
        health.probeFailed("refused");
        health.probeSucceeded();
        assertEquals(DOWN, health.state(), "the run of good probes restarts after a failure");
        health.probeSucceeded();
        assertEquals(UP, health.state());
    }

    @Test
    void aListenerThatThrowsDoesNotBreakTransitions() {
        health.onTransition(t -> {
            throw new IllegalStateException("bug in listener");
        });
        health.probeSucceeded();
        health.probeFailed("x");
        assertEquals(SUSPECT, health.state());
        assertEquals(List.of(UP, SUSPECT), seen.stream().map(InstanceHealth.Transition::to).toList());
    }

    /**
     * Regression: 500 concurrent streams on 2 cores timed both relays' probes out while their requests
     * were completing; both were marked DOWN and 1,180 requests in flight were re-issued.
     */
    @Test
    void aProbeTimeoutWhileRequestsAreAnsweredIsBusyNeverDown() {
        health.probeSucceeded();
        for (int i = 0; i < 10; i++) {
            long probeStarted = now.get();
            now.addAndGet(200);
            health.answered(); // a chunk of some answer arrived during the probe
            now.addAndGet(300);
            health.probeTimedOut("timeout after 500 ms", probeStarted, Optional.empty());
            assertEquals(UP, health.state(), "busy: nothing ejected, no traffic peak sent to the standby");
        }
        assertEquals(10, health.busyProbes());
        assertEquals("timeout after 500 ms while answering requests: busy, not dead", health.lastError());
    }

    @Test
    void aProbeTimeoutWithNothingAnsweredCountsTowardDown() {
        health.probeSucceeded();
        health.answered(); // before the probes began: says nothing about now
        now.addAndGet(100);
        long first = now.get();
        now.addAndGet(500);
        health.probeTimedOut("timeout after 500 ms", first, Optional.empty());
        long second = now.get();
        now.addAndGet(500);
        health.probeTimedOut("timeout after 500 ms", second, Optional.empty());
        assertEquals(DOWN, health.state(), "silent: dead, frozen or blackholed");
        assertEquals(0, health.busyProbes());
    }

    @Test
    void refusedProbesCountEvenWhileOldRequestsStillAnswer() {
        health.probeSucceeded();
        long started = now.get();
        health.answered();
        health.probeFailed("connection refused");
        health.probeFailed("connection refused");
        assertEquals(DOWN, health.state(), "only a timeout can be busy: a refusal or a bad status is an answer");
        health.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        assertEquals(DOWN, health.state(), "busy never brings a down relay back either");
    }

    /** Regression, chaos scenario 20: an idle standby's probes timed out during a burst that starved the host. */
    @Test
    void aProbeTimeoutWhileThisHostFellBehindIsNoVerdict() {
        health.probeSucceeded();
        for (int i = 0; i < 5; i++) {
            long started = now.get();
            now.addAndGet(500);
            health.probeTimedOut("timeout after 500 ms", started, Optional.of("this host was too busy to run the probe on time"));
        }
        assertEquals(UP, health.state(), "nothing answered, but the host could not run the probe on time");
        assertEquals("timeout after 500 ms while this host was too busy to run the probe on time: no verdict", health.lastError());
    }

    /** Regression, chaos scenario 20: during a burst the idle standby's probes timed out like the busy primary's. */
    @Test
    void everyProbeSlowWhileOneRelayAnswersIsLoadNotDeath() {
        InstanceHealth primary = new InstanceHealth("primary-1", 2, 2, now::get);
        InstanceHealth standby = new InstanceHealth("standby-1", 2, 2, now::get);
        long started = now.get();
        now.addAndGet(300);
        primary.answered();
        now.addAndGet(200);
        primary.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        standby.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        assertEquals(true, InstanceHealth.allSlowWhileOneAnswers(List.of(primary, standby), started, 500),
                "both slow, the primary answering: load");
    }

    @Test
    void everyProbeSlowWithNothingAnsweredIsAnOutage() {
        InstanceHealth primary = new InstanceHealth("primary-1", 2, 2, now::get);
        InstanceHealth standby = new InstanceHealth("standby-1", 2, 2, now::get);
        long started = now.get();
        now.addAndGet(500);
        primary.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        standby.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        assertEquals(false, InstanceHealth.allSlowWhileOneAnswers(List.of(primary, standby), started, 500));
    }

    @Test
    void oneProbeAnsweredInTimeMeansThisHostCanProbe() {
        InstanceHealth primary = new InstanceHealth("primary-1", 2, 2, now::get);
        InstanceHealth standby = new InstanceHealth("standby-1", 2, 2, now::get);
        InstanceHealth quiet = new InstanceHealth("direct:sim", 2, 2, now::get);
        long started = now.get();
        now.addAndGet(300);
        primary.answered();
        standby.probeSucceeded();
        now.addAndGet(200);
        primary.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        assertEquals(false, InstanceHealth.allSlowWhileOneAnswers(List.of(primary, standby, quiet), started, 500),
                "the standby's probe passed: the primary's timeout is about the primary");
        assertEquals(false, InstanceHealth.allSlowWhileOneAnswers(List.of(primary, quiet), started, 500),
                "one probed instance alone is no correlation (the quiet one was not probed lately)");
    }

    /** Regression, chaos scenario 20: a cold standby on this host missed its probes while the burst saturated the CPU. */
    @Test
    void anIdleUpstreamIsExcusedWhileTheHostCpuIsSaturated() {
        assertEquals(Optional.of("this host's CPU was saturated and the instance had no request in flight"),
                InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(HostStall.NONE, true, true, false)));
    }

    @Test
    void aSaturatedCpuNeverExcusesAnUpstreamWithRequestsInFlight() {
        assertEquals(Optional.empty(), InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(HostStall.NONE, false, true, true)),
                "a relay that went silent with requests in flight is marked down however busy the host is");
    }

    @Test
    void aSuspectInstanceThatAnswersRequestsAgainIsUp() {
        health.probeSucceeded();
        long started = now.get();
        now.addAndGet(500);
        health.probeTimedOut("timeout after 500 ms", started, Optional.empty());
        assertEquals(SUSPECT, health.state(), "nothing came back during the probe");
        long next = now.get();
        now.addAndGet(200);
        health.answered();
        now.addAndGet(300);
        health.probeTimedOut("timeout after 500 ms", next, Optional.empty());
        assertEquals(UP, health.state(), "answers came back: the suspicion is refuted");
        now.addAndGet(500);
        health.probeTimedOut("timeout after 500 ms", now.get() - 500, Optional.empty());
        assertEquals(SUSPECT, health.state(), "and a silence after that is counted afresh, not added to the old one");
    }

    @Test
    void aHostThatLostHalfTheProbeExcusesEveryUpstream() {
        assertEquals(Optional.of("this host's threads lost 250 of 450 ms of the probe"),
                InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(new HostStall(250, 450), false, false, false)));
    }

    /**
     * Regression, bin/bench blackhole of the primary relay (2026-12-02): any timer 50 ms late during a
     * probe made its timeout no verdict, so on a loaded host a blackholed relay with requests in
     * flight was marked down 2.2 s after it was suspected instead of 0.4 s.
     */
    @Test
    void aFewLateTicksOnALoadedHostDoNotExcuseASilentRelay() {
        assertEquals(Optional.empty(),
                InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(new HostStall(120, 450), false, false, false)));
    }

    @Test
    void aDownInstanceTimingOutIsAFailedProbeWhateverTheHost() {
        long started = now.get();
        health.probeFailed("connection refused");
        health.probeFailed("connection refused");
        assertEquals(DOWN, health.state());
        health.probeSucceeded();
        now.addAndGet(450);
        assertEquals(Optional.empty(), health.probeTimedOut("timeout after 400 ms", started, Optional.of("this host's threads lost 400 of 450 ms")));
        health.probeSucceeded();
        assertEquals(DOWN, health.state(), "the timeout broke the run of successes: rise needs two in a row");
    }

    @Test
    void anIdleUpstreamOnAnUnloadedHostGetsNoExcuse() {
        assertEquals(Optional.empty(), InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(HostStall.NONE, true, false, false)),
                "a blackholed standby is still found out while nothing else is wrong");
        assertEquals(Optional.of("every probe timed out while one upstream answered requests"),
                InstanceHealth.hostExcuse(new InstanceHealth.HostDuringProbe(HostStall.NONE, true, false, true)));
    }

    private static final long MS = 1_000_000;

    @Test
    void aStreamIsOverdueWhenSilentFarPastItsOwnPace() {
        assertEquals(false, InstanceHealth.streamOverdue(99 * MS, 10 * MS, 5), "under the floor");
        assertEquals(true, InstanceHealth.streamOverdue(100 * MS, 10 * MS, 5), "the floor, 8 times its 10 ms gaps being less");
        assertEquals(false, InstanceHealth.streamOverdue(300 * MS, 50 * MS, 5), "a stream with 50 ms gaps gets 400 ms");
        assertEquals(true, InstanceHealth.streamOverdue(400 * MS, 50 * MS, 5));
        assertEquals(false, InstanceHealth.streamOverdue(5_000 * MS, 10 * MS, 2), "two gaps do not show a pace yet");
    }

    @Test
    void streamsFallingQuietTogetherMakeAnInstanceSuspectBeforeAnyProbeTimesOut() {
        health.probeSucceeded();
        now.addAndGet(500);
        assertEquals(Optional.of("2 streams in flight fell quiet together: nothing came back from it for 120 ms"),
                health.streamsQuiet(2, 120, HostStall.NONE));
        assertEquals(SUSPECT, health.state());
    }

    /** Regression: a blackholed relay was down a probe later than needed, and the re-issue burst came after the standby had taken the load. */
    @Test
    void quietStreamsAreTheFirstFailureSoOneProbeTimeoutConfirmsThem() {
        health.probeSucceeded();
        now.addAndGet(500);
        long silenceBegan = now.get();
        now.addAndGet(120);
        health.streamsQuiet(2, 120, HostStall.NONE);
        long probeStarted = now.get();
        now.addAndGet(400);
        assertEquals(Optional.empty(), health.probeTimedOut("timeout after 400 ms", probeStarted, Optional.empty()));
        assertEquals(DOWN, health.state(), "silent since " + silenceBegan + ": the requests and a probe agree");
        assertEquals(true, seen.get(seen.size() - 1).reason().startsWith("streams fell quiet, then 1 probe(s) failed: timeout after 400 ms"),
                seen.get(seen.size() - 1).reason());
    }

    @Test
    void aGoodProbeClearsTheQuietStreamsFailure() {
        health.probeSucceeded();
        now.addAndGet(500);
        health.streamsQuiet(3, 150, HostStall.NONE);
        health.probeSucceeded();
        health.probeFailed("timeout after 400 ms");
        assertEquals(SUSPECT, health.state(), "one probe failure after a good probe is a suspicion, not a verdict");
    }

    /** Regression: a probe begun before the silence timed out in it, saw the answers before it, and lifted the suspicion. */
    @Test
    void aProbeBegunBeforeTheSilenceDoesNotRefuteTheSuspicion() {
        health.probeSucceeded();
        now.addAndGet(500);
        long probeStarted = now.get();
        now.addAndGet(30);
        health.answered(); // the last answer before the silence
        now.addAndGet(150);
        health.streamsQuiet(4, 150, HostStall.NONE);
        now.addAndGet(220);
        assertEquals(true, health.probeTimedOut("timeout after 400 ms", probeStarted, Optional.empty()).isPresent(),
                "answers came since the probe began: busy, no verdict");
        assertEquals(SUSPECT, health.state(), "but they came before the silence: the suspicion stands");
        health.answered();
        now.addAndGet(10);
        assertEquals(true, health.probeTimedOut("timeout after 400 ms", probeStarted + 100, Optional.empty()).isPresent());
        assertEquals(UP, health.state(), "an answer after the suspicion refutes it");
    }

    @Test
    void oneQuietStreamOrABriefSilenceIsNoSuspicion() {
        health.probeSucceeded();
        now.addAndGet(10_000);
        assertEquals(Optional.empty(), health.streamsQuiet(1, 5_000, HostStall.NONE), "one stream may pause on its own");
        assertEquals(Optional.empty(), health.streamsQuiet(5, 99, HostStall.NONE), "something came back 99 ms ago");
        assertEquals(UP, health.state());
    }

    @Test
    void streamsThatFellQuietWhileThisHostStalledSayNothingOfTheRelay() {
        health.probeSucceeded();
        now.addAndGet(500);
        assertEquals(Optional.empty(), health.streamsQuiet(10, 200, new HostStall(100, 200)), "the agent lost half the span itself");
        assertEquals(UP, health.state());
    }

    @Test
    void aQuietSuspicionEndsWithTheNextGoodProbe() {
        health.probeSucceeded();
        now.addAndGet(500);
        health.streamsQuiet(3, 150, HostStall.NONE);
        health.probeSucceeded();
        assertEquals(UP, health.state());
        assertEquals("probe passed again", seen.get(seen.size() - 1).reason());
    }

    /** Regression: in a burst that saturated both cores, a relay's streams paused together and it flapped suspect. */
    @Test
    void streamsQuietWhileAProbeBegunInTheSilencePassedAreABusyRelayNotADeadOne() {
        health.probeSucceeded(now.get() + 50); // begun 50 ms into the silence that starts now, answered 100 ms in
        now.addAndGet(120);
        assertEquals(Optional.empty(), health.streamsQuiet(14, 120, HostStall.NONE), "a probe begun in the silence passed");
        now.addAndGet(100);
        assertEquals(Optional.empty(), health.streamsQuiet(14, 220, HostStall.NONE), "the same silence, longer");
        assertEquals(UP, health.state());
        assertEquals(true, health.streamsQuiet(14, 150, HostStall.NONE).isPresent(), "a silence that began after that probe");
    }

    @Test
    void aProbeBegunBeforeTheSilenceAndAnsweredInItSaysNothingOfIt() {
        long silenceStarts = now.get();
        health.probeSucceeded(silenceStarts - 10);
        now.addAndGet(150);
        assertEquals(true, health.streamsQuiet(5, 150, HostStall.NONE).isPresent(),
                "its answer left the relay before the silence, whenever it arrived");
    }

    @Test
    void quietStreamsNeverBringADownInstanceBackNorDeepenIt() {
        health.probeFailed("refused");
        health.probeFailed("refused");
        assertEquals(Optional.empty(), health.streamsQuiet(3, 500, HostStall.NONE));
        assertEquals(DOWN, health.state());
    }
}
