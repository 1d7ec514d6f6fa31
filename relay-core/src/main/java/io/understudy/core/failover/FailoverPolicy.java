package io.understudy.core.failover;

import io.understudy.core.error.Failure;
import io.understudy.core.error.Origin;
import io.understudy.core.routing.Balancer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The failover decision, in one place: given a snapshot of one request and of every upstream,
 * what to do next. A ladder of early returns; each returns a {@link Decision} whose
 * {@code reason()} says in words why (logged, shown on /status, asserted by tests).
 * Pure: no I/O, no clock of its own.
 *
 * <p>The same ladder decides for a first attempt and for resuming a stream that broke after its
 * first byte reached the client ({@link Situation#resumption}): then it first decides whether the
 * stream can be resumed at all, and each {@link Attempt} says how (continuation or replay).
 */
public final class FailoverPolicy {
    /** Longest pause before a retry from the third attempt on (exponential, full jitter). */
    private static final long MAX_BACKOFF_MILLIS = 500;

    /**
     * Who ends a request when the policy itself does (nothing left to try, out of time), as the
     * failure's origin and name. The agent speaks for itself; a relay, whose upstreams are all
     * providers, reports "nothing left" as the providers' failure, so that a caller does not take a
     * relay whose providers are out for a broken relay.
     */
    public record Self(String name, Origin origin) {
        public static final Self AGENT = new Self("agent", Origin.LOCAL);
    }

    private final Self self;
    /** Never wait longer than this for a Retry-After when nothing else can serve. */
    private final long maxRetryAfterWaitMillis;
    /** Same-upstream retries for transient errors, per tier name; tiers not named get none. */
    private final Map<String, Retries> retriesByTier;

    public FailoverPolicy(Self self, long maxRetryAfterWaitMillis, Map<String, Retries> retriesByTier) {
        this.self = self;
        this.maxRetryAfterWaitMillis = maxRetryAfterWaitMillis;
        this.retriesByTier = Map.copyOf(retriesByTier);
    }

    public FailoverPolicy(long maxRetryAfterWaitMillis, Map<String, Retries> retriesByTier) {
        this(Self.AGENT, maxRetryAfterWaitMillis, retriesByTier);
    }

    public FailoverPolicy(long maxRetryAfterWaitMillis) {
        this(maxRetryAfterWaitMillis, Map.of());
    }

    /**
     * One upstream able to serve one model of the request's chain. {@code lastResort} marks a provider
     * called directly (the agent's direct tier, every upstream of a relay): used only when no relay, not
     * even a suspect one, can serve. {@code rank}: the order within its tier (a route target's priority);
     * candidates the ladder ranks equal are peers, shared by {@code weight} and {@code live} conditions
     * ({@link Balancer}).
     */
    public record Candidate(String upstream, String tier, int tierIndex, String model, String askModel,
                            HealthState health, boolean circuitOpen, long coolingUntilMillis, int rank,
                            boolean lastResort, int weight, Balancer.Live live) {
        public Candidate(String upstream, String tier, int tierIndex, String model, String askModel,
                         HealthState health, boolean circuitOpen, long coolingUntilMillis, int rank, boolean lastResort) {
            this(upstream, tier, tierIndex, model, askModel, health, circuitOpen, coolingUntilMillis, rank, lastResort, 1,
                    Balancer.Live.NONE);
        }
    }

    /** A failed attempt of this request. */
    public record FailedAttempt(String upstream, String model, Failure failure) {
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
     * @param jitter            a random number in [0, 1), drawn by the caller, that spreads pauses and draws among peers
     * @param attempts          attempts this request has made (first one included)
     * @param maxAttempts       the most it may make
     * @param resumption        present while resuming a stream that broke after reaching the client
     * @param stream            the request streams: peers are compared on time to first token, not to a whole answer
     */
    public record Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                            List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                            long nowMillis, long deadlineMillis, List<String> notes, Optional<String> leaderTier,
                            double jitter, int attempts, int maxAttempts, Optional<Resumption> resumption, boolean stream) {
        public Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                         List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                         long nowMillis, long deadlineMillis, List<String> notes, Optional<String> leaderTier,
                         double jitter, int attempts, int maxAttempts, Optional<Resumption> resumption) {
            this(models, contextFallbacks, candidates, failures, retryAllowed, nowMillis, deadlineMillis, notes, leaderTier,
                    jitter, attempts, maxAttempts, resumption, false);
        }

        public Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                         List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                         long nowMillis, long deadlineMillis, List<String> notes, Optional<String> leaderTier,
                         double jitter) {
            this(models, contextFallbacks, candidates, failures, retryAllowed, nowMillis, deadlineMillis, notes, leaderTier,
                    jitter, 0, Integer.MAX_VALUE, Optional.empty());
        }

        public Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                         List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                         long nowMillis, long deadlineMillis, List<String> notes, Optional<String> leaderTier) {
            this(models, contextFallbacks, candidates, failures, retryAllowed, nowMillis, deadlineMillis, notes, leaderTier, 0.5);
        }

        public Situation(List<String> models, List<String> contextFallbacks, List<Candidate> candidates,
                         List<FailedAttempt> failures, java.util.function.BooleanSupplier retryAllowed,
                         long nowMillis, long deadlineMillis, List<String> notes) {
            this(models, contextFallbacks, candidates, failures, retryAllowed, nowMillis, deadlineMillis, notes, Optional.empty());
        }
    }

    /**
     * A stream that broke after its first byte reached the client, being resumed.
     *
     * @param toolCalls       the client already has part of a tool call (which cannot be resumed)
     * @param episode         which resumption of this stream this is (1 for the first)
     * @param maxEpisodes     the most a stream may have ({@code agent.max-stream-recoveries})
     * @param prefillModels   the models that continue an assistant prefill (config {@code prefill: true})
     * @param prefillRefused  "upstream|model" pairs that refused a prefill during this request
     */
    public record Resumption(boolean toolCalls, int episode, int maxEpisodes, java.util.function.Predicate<String> prefillModels,
                             java.util.Set<String> prefillRefused) {
    }

    public sealed interface Decision {
        String reason();
    }

    /**
     * How an attempt runs: a fresh request; or, resuming a stream, a continuation (the text sent so
     * far as an assistant prefill; a replay on the same target if it refuses the prefill), or a replay
     * forwarded only past the text already sent and only if it begins with exactly that text.
     */
    public enum How { FRESH, CONTINUATION, REPLAY }

    /**
     * What an attempt is to the retry budget: the request's first; a retry, which may multiply load on a
     * live upstream and so spends budget; or a redirect off an upstream that is out of rotation, which
     * does not (see {@link RetryBudget}).
     */
    public enum Move { FIRST, RETRY, REDIRECT }

    /**
     * Call {@code candidate} after pausing {@code delayMillis} (a jittered backoff; 0 for none). {@code draw}: when it was drawn among peers, the draw in words (also
     * the end of {@code reason}), for whoever shows the latest draws.
     */
    public record Attempt(Candidate candidate, Move move, long delayMillis, String reason, How how, Optional<String> draw)
            implements Decision {
        public Attempt(Candidate candidate, Move move, long delayMillis, String reason, How how) {
            this(candidate, move, delayMillis, reason, how, Optional.empty());
        }

        public Attempt(Candidate candidate, Move move, long delayMillis, String reason) {
            this(candidate, move, delayMillis, reason, How.FRESH);
        }
    }

    public record Wait(long millis, String reason) implements Decision {
    }

    /** {@code code}: a bounded word for metrics (tool_call, recovery_limit, attempt_limit, diverged, exhausted). */
    public record GiveUp(Failure failure, String reason, String code) implements Decision {
        public GiveUp(Failure failure, String reason) {
            this(failure, reason, "exhausted");
        }
    }

    /**
     * Tries of the same upstream after a transient 500/502/503 before failing over ({@code sameUpstream}
     * more, each after a jittered pause of half to one and a half times {@code backoff}).
     */
    public record Retries(int sameUpstream, java.time.Duration backoff) {
        public static final Retries NONE = new Retries(0, java.time.Duration.ZERO);
    }

    public Decision decide(Situation s) {
        Decision d = ladder(s);
        if (d instanceof Attempt a && s.resumption().isPresent()) {
            Resumption r = s.resumption().get();
            Candidate c = a.candidate();
            boolean prefill = r.prefillModels().test(c.askModel()) && !r.prefillRefused().contains(c.upstream() + "|" + c.askModel());
            return new Attempt(c, a.move(), a.delayMillis(), a.reason() + "; resuming the stream by "
                    + (prefill ? "continuation" : "a matching replay"), prefill ? How.CONTINUATION : How.REPLAY, a.draw());
        }
        return d;
    }

    private Decision ladder(Situation s) {
        Optional<FailedAttempt> last = s.failures().isEmpty() ? Optional.empty()
                : Optional.of(s.failures().get(s.failures().size() - 1));

        // 0. Limits. A stream whose client has part of a tool call cannot be resumed (a tool call
        //    cannot be continued or matched); a stream resumes at most max-stream-recoveries times;
        //    a request makes at most max-attempts attempts.
        if (s.resumption().isPresent()) {
            Resumption r = s.resumption().get();
            Failure broken = last.map(FailedAttempt::failure).orElse(timeout());
            if (r.toolCalls()) {
                return new GiveUp(broken, "the stream broke during a tool call, which cannot be resumed", "tool_call");
            }
            if (r.episode() > r.maxEpisodes()) {
                return new GiveUp(broken, "the stream was already resumed " + r.maxEpisodes() + " times (max-stream-recoveries)",
                        "recovery_limit");
            }
        }
        if (s.attempts() >= s.maxAttempts()) {
            return new GiveUp(last.map(FailedAttempt::failure).orElse(timeout()), "attempt limit of " + s.maxAttempts() + " reached",
                    "attempt_limit");
        }

        // 1. The request itself is wrong: the same request fails anywhere. One exception: configured
        //    larger-context models on context_length_exceeded. A provider refusing the key we called it
        //    with (401/403) is not the request's fault but that provider's setup, and a relay with no
        //    provider meeting the request's requirement (or not confirming it) is that relay's: the ladder goes on.
        if (last.isPresent() && last.get().failure() instanceof Failure.ClientError c && !refusedOurKey(c)
                && !relayCannotMeetRequirement(c)) {
            if ("context_length_exceeded".equals(c.code())) {
                Optional<Choice> bigger = best(s, s.contextFallbacks());
                if (bigger.isPresent() && s.retryAllowed().getAsBoolean()) {
                    Candidate larger = bigger.get().candidate();
                    return new Attempt(larger, Move.RETRY, 0, "context length exceeded on " + last.get().model()
                            + "; trying configured larger-context model " + larger.model() + " via " + larger.upstream()
                            + bigger.get().suffix(), How.FRESH, bigger.get().draw());
                }
            }
            return new GiveUp(c, "client error " + c.status() + " (" + c.code() + ") from " + last.get().upstream()
                    + ": passed through, never retried");
        }

        // 2. Out of time.
        if (s.nowMillis() >= s.deadlineMillis()) {
            return new GiveUp(last.map(FailedAttempt::failure).orElse(timeout()), "request deadline reached");
        }

        // 3. A transient 500/502/503 from an upstream still in rotation: the same upstream and model
        //    once more (as its tier allows) after a short jittered pause, budget allowing. A blip that
        //    clears in 100 ms should not move the request to another tier or model.
        if (last.isPresent()) {
            Optional<Attempt> again = sameUpstreamRetry(s, last.get());
            if (again.isPresent()) {
                return again.get();
            }
        }

        // 4. Pick the best usable upstream: models in order; relays before direct providers; healthy
        //    relays before suspect ones (detected, not yet enforced); the leader's tier first (our own
        //    health checks still override it); then tier order, then rank within the tier; among peers
        //    still equal, a weighted draw on live conditions.
        Optional<Choice> next = best(s, s.models());
        if (next.isPresent()) {
            Candidate c = next.get().candidate();
            String drawn = next.get().suffix();
            if (last.isEmpty()) {
                String lead = s.leaderTier().filter(t -> t.equals(c.tier())).map(t -> " (leader's tier)").orElse("");
                return new Attempt(c, Move.FIRST, 0, c.tier() + " " + c.upstream() + " is " + describe(c) + lead
                        + "; serving " + c.model() + drawn, How.FRESH, next.get().draw());
            }
            // 5. Moving a request off an upstream that is out of rotation (refused the connection, marked
            //    down, circuit open) redirects load: that upstream gets nothing more, and the request is sent
            //    once more in all, as if it had gone elsewhere first. Any other try could multiply load on a
            //    live upstream, so it spends retry budget.
            FailedAttempt failed = last.get();
            Optional<String> gone = outOfRotation(s, failed);
            if (gone.isEmpty() && !s.retryAllowed().getAsBoolean()) {
                return new GiveUp(failed.failure(), "retry budget exhausted after " + failed.upstream()
                        + " failed (" + FailoverPolicy.outcome(failed.failure()) + ")");
            }
            String fallback = c.model().equals(s.models().get(0)) ? "" : " (fallback model " + c.model() + ")";
            String why = failed.upstream() + " failed (" + outcome(failed.failure()) + ")" + gone.map(g -> " and is " + g).orElse("");
            if (gone.isPresent()) {
                return new Attempt(c, Move.REDIRECT, 0, why + "; redirecting to " + c.tier() + " " + c.upstream() + fallback + drawn,
                        How.FRESH, next.get().draw());
            }
            return new Attempt(c, Move.RETRY, backoff(s), why + "; failing over to " + c.tier() + " " + c.upstream() + fallback + drawn,
                    How.FRESH, next.get().draw());
        }

        // 6. Nothing usable now. If something only asked us to wait (Retry-After) and the wait is short
        //    and fits the deadline, wait; otherwise give up with the reason.
        Optional<Candidate> cooling = s.candidates().stream()
                .filter(c -> c.coolingUntilMillis() > s.nowMillis() && c.health().usable() && !c.circuitOpen())
                .filter(c -> !excluded(s, c))
                .min(Comparator.comparingLong(Candidate::coolingUntilMillis));
        long rateLimited = s.failures().stream().filter(f -> f.failure() instanceof Failure.RateLimited).count();
        if (cooling.isPresent()) {
            long wait = cooling.get().coolingUntilMillis() - s.nowMillis();
            // waiting adds no load; the attempt after the wait spends budget like any retry. Limited again
            // after waiting once: the client hears the Retry-After rather than wait here again.
            if (wait <= maxRetryAfterWaitMillis && cooling.get().coolingUntilMillis() < s.deadlineMillis() && rateLimited < 2) {
                return new Wait(wait, "every usable upstream is rate limited; " + cooling.get().upstream()
                        + " allows another call in " + wait + " ms");
            }
        }
        if (last.isEmpty() && cooling.isPresent()) {
            // nothing tried: a Retry-After heard earlier still holds. Say so, with the time left, rather
            // than call a provider that asked us to wait.
            Candidate c = cooling.get();
            long seconds = Math.max(1, (c.coolingUntilMillis() - s.nowMillis() + 999) / 1000);
            return new GiveUp(new Failure.RateLimited(self.origin(), c.upstream(), Optional.of(java.time.Duration.ofSeconds(seconds)),
                    c.upstream() + " asked for no calls for " + c.askModel() + " for " + seconds + " s more", Optional.of(c.askModel())),
                    "every usable upstream is rate limited for longer than max-retry-after-wait; Retry-After passed on to the client");
        }
        Failure failure = last.map(FailedAttempt::failure).orElseGet(() -> noUpstream(s));
        if (failure instanceof Failure.RateLimited && cooling.isPresent()) {
            return new GiveUp(failure, "rate limited everywhere; Retry-After passed on to the client");
        }
        return new GiveUp(failure, "no upstream left to try: " + summary(s));
    }

    private Optional<Attempt> sameUpstreamRetry(Situation s, FailedAttempt failed) {
        if (!(failed.failure() instanceof Failure.Retryable r) || (r.status() != 500 && r.status() != 502 && r.status() != 503)) {
            return Optional.empty();
        }
        Optional<Candidate> same = s.candidates().stream()
                .filter(c -> c.upstream().equals(failed.upstream()) && c.askModel().equals(failed.model()))
                .filter(c -> c.health().usable() && !c.circuitOpen() && c.coolingUntilMillis() <= s.nowMillis())
                .findFirst();
        if (same.isEmpty()) {
            return Optional.empty();
        }
        if (r.origin() == Origin.PROVIDER && !same.get().lastResort()) {
            return Optional.empty(); // a relay passing on its provider's 5xx has retried that provider itself
        }
        FailoverPolicy.Retries retries = retriesByTier.getOrDefault(same.get().tier(), FailoverPolicy.Retries.NONE);
        long triedHere = s.failures().stream()
                .filter(f -> f.upstream().equals(failed.upstream()) && f.model().equals(failed.model())).count();
        // transient means this request met it on one upstream only; once it followed the request
        // elsewhere, a retry in place would only add load
        boolean seenElsewhere = s.failures().stream().anyMatch(f -> !f.upstream().equals(failed.upstream())
                && f.failure() instanceof Failure.Retryable);
        if (triedHere > retries.sameUpstream() || seenElsewhere || !s.retryAllowed().getAsBoolean()) {
            return Optional.empty();
        }
        long delay = Math.round(retries.backoff().toMillis() * (0.5 + s.jitter()));
        if (s.nowMillis() + delay >= s.deadlineMillis()) {
            return Optional.empty();
        }
        return Optional.of(new Attempt(same.get(), Move.RETRY, delay, failed.upstream() + " failed ("
                + outcome(failed.failure()) + "), a transient error; retrying it once after " + delay + " ms"));
    }

    /** From the third attempt on, an exponential pause with full jitter: no tight loops on live upstreams. */
    private static long backoff(Situation s) {
        int attempts = s.failures().size();
        if (attempts < 2) {
            return 0;
        }
        long cap = Math.min(MAX_BACKOFF_MILLIS, 25L << Math.min(5, attempts - 2));
        return (long) (s.jitter() * (cap + 1));
    }

    /** The candidate chosen, and the draw among peers that chose it, if there was one. */
    private record Choice(Candidate candidate, Optional<String> draw) {
        /** The draw, ready to append to a reason. */
        String suffix() {
            return draw.map(d -> "; " + d).orElse("");
        }
    }

    private Optional<Choice> best(Situation s, List<String> models) {
        Comparator<Candidate> preference = Comparator.comparingInt((Candidate x) -> x.lastResort() ? 1 : 0)
                .thenComparingInt(x -> x.health() == HealthState.SUSPECT ? 1 : 0)
                .thenComparingInt(x -> s.leaderTier().map(t -> t.equals(x.tier()) ? 0 : 1).orElse(0))
                .thenComparingInt(Candidate::tierIndex)
                .thenComparingInt(Candidate::rank);
        for (String model : models) {
            List<Candidate> usable = s.candidates().stream()
                    .filter(x -> x.model().equals(model))
                    .filter(x -> x.health().usable() && !x.circuitOpen() && x.coolingUntilMillis() <= s.nowMillis())
                    .filter(x -> !excluded(s, x))
                    .toList();
            if (usable.isEmpty()) {
                continue;
            }
            Candidate first = usable.stream().min(preference).orElseThrow();
            List<Candidate> peers = usable.stream().filter(x -> preference.compare(x, first) == 0).toList();
            if (peers.size() == 1) {
                return Optional.of(new Choice(first, Optional.empty()));
            }
            Balancer.Pick pick = Balancer.pick(peers.stream().map(x -> new Balancer.Peer(x.upstream(), x.weight(), x.live())).toList(),
                    s.stream(), s.jitter());
            return Optional.of(new Choice(peers.get(pick.index()), Optional.of(pick.reason())));
        }
        return Optional.empty();
    }

    /**
     * Why the upstream of a failed attempt now gets no traffic at all, if it does not: it refused the
     * connection, probes marked it down, its circuit is open, or it timed out while a probe of it had
     * failed (suspect upstreams get no new traffic while a healthy one can serve, and the request
     * left it because nothing came back from it, for any request, while it waited).
     */
    private static Optional<String> outOfRotation(Situation s, FailedAttempt f) {
        if (f.failure() instanceof Failure.Unavailable u && u.kind() == Failure.UnavailableKind.CONNECT_REFUSED) {
            return Optional.of("refusing connections");
        }
        if (f.failure() instanceof Failure.Unavailable u && u.kind() == Failure.UnavailableKind.MARKED_DOWN) {
            return Optional.of("marked down");
        }
        for (Candidate c : s.candidates()) {
            if (c.upstream().equals(f.upstream()) && c.askModel().equals(f.model())) {
                if (c.health() == HealthState.DOWN) {
                    return Optional.of("marked down");
                }
                if (c.health() == HealthState.SUSPECT && f.failure() instanceof Failure.Unavailable u
                        && u.kind() == Failure.UnavailableKind.TIMEOUT) {
                    return Optional.of("suspect and silent");
                }
                if (c.circuitOpen()) {
                    return Optional.of("out of rotation (circuit open)");
                }
            }
        }
        return Optional.empty();
    }

    /**
     * A relay refused a request's x-understudy-require (none of its providers meets it), or answered
     * without confirming it enforced it: another relay, or a compliant direct provider, may serve it.
     */
    private static boolean relayCannotMeetRequirement(Failure.ClientError c) {
        return c.origin() == Origin.RELAY && c.code() != null && c.code().startsWith("requirement_");
    }

    /** A provider refused the credentials this process called it with: another provider may take them. */
    private static boolean refusedOurKey(Failure.ClientError c) {
        return c.origin() == Origin.PROVIDER && (c.status() == 401 || c.status() == 403);
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
            case UNKNOWN -> "not probed";
            case SUSPECT -> "suspect but the best left";
            case DOWN -> "down";
        };
    }

    private static String summary(Situation s) {
        List<String> parts = new ArrayList<>();
        for (Candidate c : s.candidates()) {
            String state = c.circuitOpen() ? "circuit open" : c.health() == HealthState.DOWN ? "down"
                    : c.coolingUntilMillis() > s.nowMillis() ? "rate limited" : failedHere(s, c) ? "failed" : "usable";
            String entry = c.upstream() + " " + state;
            if (!parts.contains(entry)) {
                parts.add(entry);
            }
        }
        parts.addAll(s.notes());
        return parts.isEmpty() ? "no upstream serves this model" : String.join(", ", parts);
    }

    /** 503, as Envoy's "no healthy upstream": nothing was tried because nothing is in rotation. */
    private Failure noUpstream(Situation s) {
        return new Failure.Retryable(self.origin(), self.name(), 503, "no_upstream_available",
                "No upstream can serve this request now: " + summary(s));
    }

    private Failure timeout() {
        return new Failure.Unavailable(self.origin(), self.name(), Failure.UnavailableKind.TIMEOUT, "request deadline reached");
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
