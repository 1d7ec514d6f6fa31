package io.understudy.agent;

import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.failover.HealthState;
import io.understudy.core.provider.Provider;
import io.understudy.core.provider.Secret;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Probes one upstream and feeds the results to its {@link InstanceHealth}: a relay by a GET of its
 * probe path, a provider of the direct tier by listing its models (cheap, and it proves the key and
 * the API work). Each probe runs on its own virtual thread and the next one starts on schedule
 * whether or not the last has answered, so a silence is confirmed one pace after it was first
 * seen, not one more probe timeout later. The pace follows what is at stake (see {@link #pause}):
 * requests waiting on an upstream that fell silent wait for the verdict, so an upstream carrying
 * requests is probed four times as often. Results are taken in the order the probes started: an
 * answer to a later probe makes an earlier probe's result stale, and it is dropped.
 */
final class HealthProber implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HealthProber.class.getName());
    /** A quiet upstream (no request for a minute) is probed this many times less often. */
    private static final int QUIET_SLOWDOWN = 10;
    /** Probes of one upstream awaiting their answer at most; a misconfigured pace cannot pile up more. */
    static final int MAX_OUTSTANDING = 8;

    /** One probe call; it must give up by itself within the probe timeout (its socket timeouts). */
    @FunctionalInterface
    interface Check {
        ProbeResult call();
    }

    /** Why this host, since {@code startedMillis}, makes a probe timeout no verdict; empty when it counts. */
    @FunctionalInterface
    interface Starved {
        Optional<String> since(long startedMillis, Duration interval);
    }

    /** What the upstream carries from this agent right now. */
    enum Traffic {
        /** Requests in flight: they wait on the next probe's verdict if it fell silent. */
        IN_FLIGHT,
        /** Nothing in flight, but requests lately (or a relay: always ready to take them). */
        IDLE,
        /** A direct provider with no request for a minute. */
        QUIET
    }

    /** {@code timedOut}: no answer within the probe timeout (as opposed to refused, or a bad status). */
    record ProbeResult(boolean ok, boolean timedOut, String error) {
        static final ProbeResult OK = new ProbeResult(true, false, "");

        static ProbeResult failed(String error) {
            return new ProbeResult(false, false, error);
        }
    }

    private final String name;
    private final AgentConfig.Probe probe;
    private final InstanceHealth health;
    private final Check check;
    private final Supplier<Traffic> traffic;
    private final Starved starved;
    private final Thread thread;
    private final java.util.concurrent.atomic.AtomicInteger outstanding = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean running = true;
    /** Guarded by {@code this}: the start order of the newest probe whose result was taken. */
    private long newestReported;
    /** Guarded by {@code this}: results dropped because a later probe had answered first. */
    private long staleResults;

    HealthProber(String name, AgentConfig.Probe probe, InstanceHealth health, Check check, Supplier<Traffic> traffic,
                         Starved starved) {
        this.name = name;
        this.starved = starved;
        this.probe = probe;
        this.health = health;
        this.check = check;
        this.traffic = traffic;
        this.thread = Thread.ofPlatform().daemon(true).name("probe-" + name).start(this::loop);
    }

    /** Probes a relay: GET of the probe path on its origin, the relay key sent when {@code with-auth}. */
    static HealthProber relay(String instance, URI baseUrl, AgentConfig.Probe probe, Optional<Secret> apiKey,
                              InstanceHealth health, Supplier<Traffic> traffic, Starved starved) {
        String origin = baseUrl.getScheme() + "://" + baseUrl.getRawAuthority();
        URI uri = URI.create(origin + (probe.path().startsWith("/") ? probe.path() : "/" + probe.path()));
        WebClient client = WebClient.builder()
                .socketOptions(o -> o.tcpNoDelay(true).connectTimeout(probe.timeout()).readTimeout(probe.timeout()))
                .followRedirects(false)
                .shareConnectionCache(false) // see HttpTransport: never lend a probe's connection to a request
                .build();
        Check get = () -> {
            // a new connection every probe: Helidon's idle-connection monitor races the reuse of a pooled
            // one (helidon#10861) and fails the probe with a read timeout within a few ms of its start, which
            // no answer since the probe began can excuse; such "timeouts" marked a busy relay down
            var request = client.get().uri(uri).readTimeout(probe.timeout()).keepAlive(false);
            if (probe.withAuth()) {
                apiKey.ifPresent(k -> request.header(HeaderNames.AUTHORIZATION, "Bearer " + k.value()));
            }
            try (HttpClientResponse response = request.request()) {
                int status = response.status().code();
                response.inputStream().readNBytes(16 * 1024);
                return status >= 200 && status < 300 ? ProbeResult.OK : ProbeResult.failed("HTTP " + status);
            } catch (Exception e) {
                Throwable root = e;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                if (root instanceof java.net.SocketTimeoutException) {
                    return timedOut(probe);
                }
                return ProbeResult.failed(root instanceof java.net.ConnectException ? "connection refused"
                        : root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage()));
            }
        };
        return new HealthProber(instance, probe, health, get, traffic, starved);
    }

    /**
     * Probes a provider of the direct tier by listing its models, through {@code prober}: the same
     * provider with the probe timeout as its connect and read timeouts. Any answer shows it alive,
     * a rate limit or a refused key included (requests will meet those too); a 5xx or no answer
     * does not.
     */
    static HealthProber provider(String name, Provider prober, AgentConfig.Probe probe, InstanceHealth health,
                                 Supplier<Traffic> traffic, Starved starved) {
        Check list = () -> {
            try {
                prober.models();
                return ProbeResult.OK;
            } catch (FailureException e) {
                return switch (e.failure()) {
                    case Failure.ClientError c -> ProbeResult.OK;
                    case Failure.RateLimited r -> ProbeResult.OK;
                    case Failure.Retryable r -> ProbeResult.failed("HTTP " + r.status());
                    case Failure.Unavailable u -> u.kind() == Failure.UnavailableKind.TIMEOUT ? timedOut(probe)
                            : ProbeResult.failed(u.kind().code());
                };
            }
        };
        return new HealthProber(name, probe, health, list, traffic, starved);
    }

    private void loop() {
        long launched = 0;
        long lastLaunchNanos = System.nanoTime();
        while (running) {
            long sinceLast = System.nanoTime() - lastLaunchNanos;
            long pause = pause().toNanos();
            if ((launched == 0 || sinceLast >= pause) && outstanding.get() < MAX_OUTSTANDING) {
                launch(++launched);
                lastLaunchNanos = System.nanoTime();
                continue;
            }
            try {
                // sliced, so that a change of state or traffic brings the new pace at once
                long left = Math.max(0, pause - sinceLast);
                Thread.sleep(Duration.ofNanos(Math.max(1_000_000, Math.min(left, probe.interval().dividedBy(8).toNanos()))));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private Duration pause() {
        return pause(health.state(), traffic.get(), probe.interval());
    }

    /**
     * From the start of one probe to the start of the next, whether the last has answered or not.
     * Suspect or carrying requests: four times as often, so a silence is confirmed one quarter
     * interval after the first probe timed out: requests in flight on an upstream that fell silent
     * wait at most a quarter interval, then a probe timeout, then (fall - 1) quarter intervals (0.65 s
     * on the defaults; 0.53 s when their streams fell quiet first, which counts as the first failure).
     * Down: twice as often, so a recovery is seen (rise x interval / 2) within about a second. Up and
     * idle: every interval. Up and quiet: {@value #QUIET_SLOWDOWN} times less often.
     */
    static Duration pause(HealthState state, Traffic traffic, Duration interval) {
        return switch (state) {
            case SUSPECT, UNKNOWN -> interval.dividedBy(4);
            case DOWN -> interval.dividedBy(2);
            case UP -> switch (traffic) {
                case IN_FLIGHT -> interval.dividedBy(4);
                case IDLE -> interval;
                case QUIET -> interval.multipliedBy(QUIET_SLOWDOWN);
            };
        };
    }

    private void launch(long order) {
        long started = health.nowMillis();
        outstanding.incrementAndGet();
        Thread.ofVirtual().name("probe-" + name + "-" + order).start(() -> {
            try {
                report(order, started, callWithDeadline());
            } finally {
                outstanding.decrementAndGet();
            }
        });
    }

    /** Takes one probe's result, unless a probe that started later was taken already (see the class comment). */
    private synchronized void report(long order, long started, ProbeResult result) {
        if (!running) {
            return;
        }
        if (order < newestReported) {
            staleResults++;
            return;
        }
        newestReported = order;
        if (result.ok()) {
            health.probeSucceeded(started);
        } else if (result.timedOut()) {
            health.probeTimedOut(result.error(), started, starved.since(started, probe.interval()))
                    .ifPresent(why -> LOG.info(() -> "probe of " + name + ": " + why));
        } else {
            health.probeFailed(result.error());
        }
    }

    /**
     * The socket timeouts bound connect and each read; a peer that trickles bytes could still hold a
     * probe longer, so the probe runs on its own thread with a hard deadline.
     */
    private ProbeResult callWithDeadline() {
        java.util.concurrent.CompletableFuture<ProbeResult> result = new java.util.concurrent.CompletableFuture<>();
        Thread call = Thread.ofVirtual().name("probe-call-" + name).start(() -> {
            try {
                result.complete(check.call());
            } catch (RuntimeException e) {
                result.complete(ProbeResult.failed(e.getClass().getSimpleName()));
            }
        });
        try {
            return result.get(probe.timeout().toMillis() + 50, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            call.interrupt();
            return timedOut(probe);
        } catch (InterruptedException e) {
            call.interrupt();
            Thread.currentThread().interrupt();
            return ProbeResult.failed("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            return ProbeResult.failed(String.valueOf(e.getCause()));
        }
    }

    synchronized long staleResults() {
        return staleResults;
    }

    private static ProbeResult timedOut(AgentConfig.Probe probe) {
        return new ProbeResult(false, true, "timeout after " + probe.timeout().toMillis() + " ms");
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        LOG.fine(() -> "probe of " + name + " stopped");
    }
}
