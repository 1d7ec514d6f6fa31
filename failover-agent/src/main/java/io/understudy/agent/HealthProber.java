package io.understudy.agent;

import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import io.understudy.core.provider.Secret;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Probes one relay instance on its own virtual thread and feeds the results to its
 * {@link InstanceHealth}. After a failure it probes again at once, so a blackholed relay is marked
 * down one probe timeout after it was first suspected.
 */
final class HealthProber implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HealthProber.class.getName());

    private final String instance;
    private final URI probeUri;
    private final AgentConfig.Probe probe;
    private final Optional<Secret> apiKey;
    private final InstanceHealth health;
    private final WebClient client;
    private final Thread thread;
    private volatile boolean running = true;

    HealthProber(String instance, URI baseUrl, AgentConfig.Probe probe, Optional<Secret> apiKey, InstanceHealth health) {
        this.instance = instance;
        String origin = baseUrl.getScheme() + "://" + baseUrl.getRawAuthority();
        this.probeUri = URI.create(origin + (probe.path().startsWith("/") ? probe.path() : "/" + probe.path()));
        this.probe = probe;
        this.apiKey = apiKey;
        this.health = health;
        this.client = WebClient.builder()
                .socketOptions(o -> o.tcpNoDelay(true).connectTimeout(probe.timeout()).readTimeout(probe.timeout()))
                .followRedirects(false)
                .build();
        this.thread = Thread.ofPlatform().daemon(true).name("probe-" + instance).start(this::loop);
    }

    URI probeUri() {
        return probeUri;
    }

    private void loop() {
        while (running) {
            long started = System.nanoTime();
            probeOnce();
            InstanceHealth.State state = health.state();
            // suspect: confirm at once; down: twice as often, so a recovery is seen (rise x interval/2) within
            // about a second on the defaults
            Duration pause = switch (state) {
                case SUSPECT -> Duration.ZERO;
                case UNKNOWN -> probe.interval().dividedBy(4);
                case DOWN -> probe.interval().dividedBy(2);
                case UP -> probe.interval();
            };
            long sleepNanos = pause.toNanos() - (System.nanoTime() - started);
            if (sleepNanos > 0) {
                try {
                    Thread.sleep(Duration.ofNanos(sleepNanos));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void probeOnce() {
        long started = health.nowMillis();
        ProbeResult result = callWithDeadline();
        if (!running) {
            return;
        }
        if (result.ok()) {
            health.probeSucceeded();
        } else if (result.timedOut()) {
            health.probeTimedOut(result.error(), started);
        } else {
            health.probeFailed(result.error());
        }
    }

    /** {@code timedOut}: no answer within the probe timeout (as opposed to refused, or a bad status). */
    private record ProbeResult(boolean ok, boolean timedOut, String error) {
        static final ProbeResult OK = new ProbeResult(true, false, "");

        static ProbeResult failed(String error) {
            return new ProbeResult(false, false, error);
        }
    }

    /**
     * The socket timeouts bound connect and each read; a peer that trickles bytes could still hold a
     * probe longer, so the probe runs on its own virtual thread with a hard deadline.
     */
    private ProbeResult callWithDeadline() {
        java.util.concurrent.CompletableFuture<ProbeResult> result = new java.util.concurrent.CompletableFuture<>();
        Thread call = Thread.ofPlatform().daemon(true).name("probe-call-" + instance).start(() -> result.complete(call()));
        try {
            return result.get(probe.timeout().toMillis() + 50, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            call.interrupt();
            return timedOut();
        } catch (InterruptedException e) {
            call.interrupt();
            Thread.currentThread().interrupt();
            return ProbeResult.failed("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            return ProbeResult.failed(String.valueOf(e.getCause()));
        }
    }

    private ProbeResult timedOut() {
        return new ProbeResult(false, true, "timeout after " + probe.timeout().toMillis() + " ms");
    }

    private ProbeResult call() {
        var request = client.get().uri(probeUri).readTimeout(probe.timeout());
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
                return timedOut();
            }
            return ProbeResult.failed(root instanceof java.net.ConnectException ? "connection refused"
                    : root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage()));
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        LOG.fine(() -> "probe of " + instance + " stopped");
    }
}
