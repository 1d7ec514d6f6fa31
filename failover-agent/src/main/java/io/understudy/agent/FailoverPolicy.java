package io.understudy.agent;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The failover decision, in one place: given a snapshot of one request and of every upstream,
 * what to do next. A ladder of early returns; each returns a {@link Decision} whose
 * {@code reason()} says in words why (logged, shown on /status, asserted by tests).
 * Pure: no I/O, no clock of its own.
 */
public final class FailoverPolicy {
    /** Never wait longer than this for a Retry-After when nothing else can serve. */
    private final long maxRetryAfterWaitMillis;

    public FailoverPolicy(long maxRetryAfterWaitMillis) {
        this.maxRetryAfterWaitMillis = maxRetryAfterWaitMillis;
    }

    /**
     * One upstream able to serve one model of the request's chain. {@code lastResort} marks the
     * direct-provider tier: used only when no relay, not even a suspect one, can serve.
     */
    public record Candidate(String upstream, String tier, int tierIndex, String model, String askModel,
                            InstanceHealth.State health, boolean circuitOpen, long coolingUntilMillis, double score,
                            boolean lastResort) {
    }

    /** A failed attempt of this request. */
    public record FailedAttempt(String upstream, String model, Failure failure) {
        /**
         * The upstream provably did no work for it: the connection was refused, or the attempt was
         * abandoned because probes marked the upstream down. Moving such a request elsewhere
         * redirects load rather than multiplying it, so it does not spend the retry budget.
         */
        public boolean undelivered() {
            return failure instanceof Failure.Unavailable u && (u.kind() == Failure.UnavailableKind.CONNECT_REFUSED
                    || u.kind() == Failure.UnavailableKind.MARKED_DOWN);
        }
    }

    /**
     * Everything the decision needs.
     *
     * @param models            the requested model, then its fallbacks (cost guard already applied)
     * @param contextFallbacks  models to try when a context_length_exceeded comes back
     * @param candidates        every (upstream, model) pair, any order
     * @param failures          this request's failed attempts, oldest first
     * @param retryAllowed      whether the retry budget allows one more attempt (asked only when needed)
     * @param notes             things the caller wants in a give-up message (cost guard skips)
     */
    public record Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                            List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                            long nowMillis, long deadlineMillis, List<String> notes, Optional<String> leaderTier) {
        public Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                         List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                         long nowMillis, long deadlineMillis, List<String> notes) {
            this(models, contextFallbacks, candidates, failures, retryAllowed, nowMillis, deadlineMillis, notes, Optional.empty());
        }
    }

    public sealed interface Decision {
        String reason();
    }

    public record Attempt(Candidate candidate, String reason) implements Decision {
    }

    public record Wait(long millis, String reason) implements Decision {
    }

    public record GiveUp(Failure failure, String reason) implements Decision {
    }

    public Decision decide(Situation s) {
        Optional<FailedAttempt> last = s.failures().isEmpty() ? Optional.empty()
                : Optional.of(s.failures().get(s.failures().size() - 1));

        // 1. The request itself is wrong: the same request fails anywhere. One exception: configured
        //    larger-context models on context_length_exceeded.
        if (last.isPresent() && last.get().failure() instanceof Failure.ClientError c) {
            if ("context_length_exceeded".equals(c.code())) {
                Optional<Candidate> bigger = best(s, s.contextFallbacks());
                if (bigger.isPresent() && s.retryAllowed().getAsBoolean()) {
                    return new Attempt(bigger.get(), "context length exceeded on " + last.get().model()
                            + "; trying configured larger-context model " + bigger.get().model() + " via " + bigger.get().upstream());
                }
            }
            return new GiveUp(c, "client error " + c.status() + " (" + c.code() + ") from " + last.get().upstream()
                    + ": passed through, never retried");
        }

        // 2. Out of time.
        if (s.nowMillis() >= s.deadlineMillis()) {
            return new GiveUp(last.map(FailedAttempt::failure).orElse(timeout()), "request deadline reached");
        }

        // 3. Pick the best usable upstream: models in order; relays before direct providers; healthy
        //    relays before suspect ones (detected, not yet enforced); the leader's tier first (our own
        //    health checks still override it); then tier order, then load.
        Optional<Candidate> next = best(s, s.models());
        if (next.isPresent()) {
            Candidate c = next.get();
            if (last.isEmpty()) {
                String lead = s.leaderTier().filter(t -> t.equals(c.tier())).map(t -> " (leader's tier)").orElse("");
                return new Attempt(c, c.tier() + " " + c.upstream() + " is " + describe(c) + lead + "; serving " + c.model());
            }
            // 4. A retry or failover spends budget, so an outage does not multiply load; moving a request
            //    its upstream never worked on (refused, or marked down) only redirects it.
            if (!last.get().undelivered() && !s.retryAllowed().getAsBoolean()) {
                return new GiveUp(last.get().failure(), "retry budget exhausted after " + last.get().upstream()
                        + " failed (" + FailoverPolicy.outcome(last.get().failure()) + ")");
            }
            String fallback = c.model().equals(s.models().get(0)) ? "" : " (fallback model " + c.model() + ")";
            return new Attempt(c, last.get().upstream() + " failed (" + outcome(last.get().failure()) + "); failing over to "
                    + c.tier() + " " + c.upstream() + fallback);
        }

        // 5. Nothing usable now. If something only asked us to wait (Retry-After) and the wait is short
        //    and fits the deadline, wait; otherwise give up with the reason.
        Optional<Candidate> cooling = s.candidates().stream()
                .filter(c -> c.coolingUntilMillis() > s.nowMillis() && c.health().usable() && !c.circuitOpen())
                .filter(c -> !excluded(s, c))
                .min(Comparator.comparingLong(Candidate::coolingUntilMillis));
        if (cooling.isPresent()) {
            long wait = cooling.get().coolingUntilMillis() - s.nowMillis();
            // waiting adds no load; the attempt after the wait spends budget like any retry
            if (wait <= maxRetryAfterWaitMillis && cooling.get().coolingUntilMillis() < s.deadlineMillis()) {
                return new Wait(wait, "every usable upstream is rate limited; " + cooling.get().upstream()
                        + " allows another call in " + wait + " ms");
            }
        }
        Failure failure = last.map(FailedAttempt::failure).orElseGet(() -> noUpstream(s));
        if (failure instanceof Failure.RateLimited && cooling.isPresent()) {
            return new GiveUp(failure, "rate limited everywhere; Retry-After passed on to the client");
        }
        return new GiveUp(failure, "no upstream left to try: " + summary(s));
    }

    private Optional<Candidate> best(Situation s, List<String> models) {
        for (String model : models) {
            Optional<Candidate> c = s.candidates().stream()
                    .filter(x -> x.model().equals(model))
                    .filter(x -> x.health().usable() && !x.circuitOpen() && x.coolingUntilMillis() <= s.nowMillis())
                    .filter(x -> !excluded(s, x))
                    .min(Comparator.comparingInt((Candidate x) -> x.lastResort() ? 1 : 0)
                            .thenComparingInt(x -> x.health() == InstanceHealth.State.SUSPECT ? 1 : 0)
                            .thenComparingInt(x -> s.leaderTier().map(t -> t.equals(x.tier()) ? 0 : 1).orElse(0))
                            .thenComparingInt(Candidate::tierIndex)
                            .thenComparingDouble(Candidate::score));
            if (c.isPresent()) {
                return c;
            }
        }
        return Optional.empty();
    }

    private static boolean failedHere(Situation s, Candidate c) {
        return s.failures().stream().anyMatch(f -> f.upstream().equals(c.upstream()) && f.model().equals(c.askModel()));
    }

    /** Failed in this request and not worth another try: anything but a rate limit (which only says "later"). */
    private static boolean excluded(Situation s, Candidate c) {
        return s.failures().stream().anyMatch(f -> f.upstream().equals(c.upstream()) && f.model().equals(c.askModel())
                && !(f.failure() instanceof Failure.RateLimited));
    }

    private static String describe(Candidate c) {
        return switch (c.health()) {
            case UP -> "healthy";
            case UNKNOWN -> "not probed yet";
            case SUSPECT -> "suspect but the best left";
            case DOWN -> "down";
        };
    }

    private static String summary(Situation s) {
        List<String> parts = new ArrayList<>();
        for (Candidate c : s.candidates()) {
            String state = c.circuitOpen() ? "circuit open" : c.health() == InstanceHealth.State.DOWN ? "down"
                    : c.coolingUntilMillis() > s.nowMillis() ? "rate limited" : failedHere(s, c) ? "failed" : "usable";
            String entry = c.upstream() + " " + state;
            if (!parts.contains(entry)) {
                parts.add(entry);
            }
        }
        parts.addAll(s.notes());
        return parts.isEmpty() ? "no upstream serves this model" : String.join(", ", parts);
    }

    private static Failure noUpstream(Situation s) {
        return new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.CONNECT_REFUSED,
                "No upstream can serve this request now: " + summary(s));
    }

    private static Failure timeout() {
        return new Failure.Unavailable(Origin.LOCAL, "agent", Failure.UnavailableKind.TIMEOUT, "request deadline reached");
    }

    public static String outcome(Failure failure) {
        return switch (failure) {
            case Failure.ClientError c -> "client error " + c.status();
            case Failure.Retryable r -> "HTTP " + r.status() + (r.origin() == Origin.PROVIDER ? " from provider" : "");
            case Failure.RateLimited r -> "rate limited" + (r.origin() == Origin.PROVIDER ? " by provider" : "");
            case Failure.Unavailable u -> u.kind().code();
        };
    }
}
