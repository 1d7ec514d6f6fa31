package io.understudy.core.failover;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The executor half of the failover engine, the same for the agent (upstreams are relays and
 * providers) and the relay (upstreams are providers): asks {@link FailoverPolicy} what to do, carries
 * the decision out through the caller's {@link Steps}, and repeats until an attempt yields an answer
 * or the policy gives up. The loop decides nothing itself; the steps only do what they are told.
 */
public final class FailoverLoop {
    private FailoverLoop() {
    }

    /** What the caller does for the loop: its I/O. */
    public interface Steps<T> {
        /** A snapshot of the request and of every upstream, for the next decision. */
        FailoverPolicy.Situation situation();

        /**
         * Whether the chosen upstream admits a call now (a half-open circuit admits only its trial
         * calls). When it does not, the caller leaves that upstream out of this request.
         */
        boolean admit(FailoverPolicy.Attempt attempt);

        /** Carries out an attempt, after pausing as it says; a failure is recorded for the next snapshot. */
        Carried<T> attempt(FailoverPolicy.Attempt attempt);
    }

    /** How carrying out one attempt ended. */
    public sealed interface Carried<T> {
    }

    /** It yielded something for the client. */
    public record Answered<T>(T answer) implements Carried<T> {
    }

    /** It failed and the failure is recorded: ask the policy again. */
    public record Tried<T>() implements Carried<T> {
    }

    /** Nothing more may be tried (for one, a replay diverged: splicing would corrupt the answer). */
    public record Stopped<T>(FailoverPolicy.GiveUp giveUp) implements Carried<T> {
    }

    /** How the request ended. */
    public sealed interface Outcome<T> {
    }

    public record Served<T>(T answer) implements Outcome<T> {
    }

    public record GaveUp<T>(FailoverPolicy.GiveUp giveUp) implements Outcome<T> {
    }

    /**
     * Runs the request's attempts. {@code maxAttempts} bounds the rounds too: a refused admission or
     * a wait is a round but not an attempt, so the loop allows four rounds per attempt and some.
     */
    public static <T> Outcome<T> run(FailoverPolicy policy, Steps<T> steps, int maxAttempts) {
        int rounds = (int) Math.min(Integer.MAX_VALUE, maxAttempts * 4L + 8);
        for (int round = 0; round < rounds; round++) {
            switch (policy.decide(steps.situation())) {
                case FailoverPolicy.GiveUp g -> {
                    return new GaveUp<>(g);
                }
                // a little jitter, so requests waiting out the same Retry-After do not arrive together
                case FailoverPolicy.Wait w -> pause(w.millis() + ThreadLocalRandom.current().nextLong(w.millis() / 10 + 1));
                case FailoverPolicy.Attempt a -> {
                    if (!steps.admit(a)) {
                        continue;
                    }
                    switch (steps.attempt(a)) {
                        case Answered<T> answered -> {
                            return new Served<>(answered.answer());
                        }
                        case Stopped<T> stopped -> {
                            return new GaveUp<>(stopped.giveUp());
                        }
                        case Tried<T> ignored -> {
                            // recorded: the next decision sees it
                        }
                    }
                }
            }
        }
        List<FailoverPolicy.FailedAttempt> failures = steps.situation().failures();
        Failure last = failures.isEmpty()
                ? new Failure.Unavailable(Origin.LOCAL, "failover", Failure.UnavailableKind.CONNECT_REFUSED, "no upstream answered")
                : failures.get(failures.size() - 1).failure();
        return new GaveUp<>(new FailoverPolicy.GiveUp(last, "no attempt could start in " + rounds + " rounds (circuits busy)"));
    }

    /** Sleeps; an interrupt ends the sleep and stays set for the caller to see. */
    public static void pause(long millis) {
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
