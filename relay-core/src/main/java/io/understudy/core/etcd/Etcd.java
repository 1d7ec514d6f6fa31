package io.understudy.core.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A jetcd client built from {@link EtcdSettings}, and the one way we wait on it: with a deadline. */
public final class Etcd implements AutoCloseable {
    private final EtcdSettings settings;
    private final Client client;

    public Etcd(EtcdSettings settings) {
        this.settings = settings;
        ClientBuilder builder = Client.builder()
                .endpoints(settings.endpoints().toArray(java.net.URI[]::new))
                .waitForReady(false) // jetcd waits forever by default; we want a prompt error
                .connectTimeout(settings.opTimeout());
        settings.user().ifPresent(u -> builder.user(bytes(u)));
        settings.password().ifPresent(p -> builder.password(bytes(p.value())));
        if (settings.caCert().isPresent()) { // https endpoints: trust this CA
            java.io.File ca = settings.caCert().get().toFile();
            try {
                builder.sslContext(b -> b.trustManager(ca));
            } catch (javax.net.ssl.SSLException e) {
                throw new io.understudy.core.config.ConfigError("etcd.ca-cert", "cannot use " + ca + ": " + e.getMessage());
            }
        }
        this.client = builder.build();
    }

    public EtcdSettings settings() {
        return settings;
    }

    public Client client() {
        return client;
    }

    /** Waits for an etcd call at most the op timeout; any failure is an {@link EtcdUnavailable}. */
    public <T> T await(CompletableFuture<T> call) {
        return await(call, settings.opTimeout());
    }

    /** As {@link #await(CompletableFuture)}, with a deadline of the caller's own (shorter, for retries that must fit a budget). */
    public <T> T await(CompletableFuture<T> call, Duration timeout) {
        try {
            return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // not cancelled: cancelling a jetcd future can leave its client unable to make that call again
            throw new EtcdUnavailable("etcd did not answer within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw new EtcdUnavailable("etcd call failed: " + rootMessage(e), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdUnavailable("interrupted while waiting for etcd", e);
        }
    }

    public static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    public static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    @Override
    public void close() {
        client.close();
    }

    /** etcd could not be reached or did not answer in time. */
    public static final class EtcdUnavailable extends RuntimeException {
        public EtcdUnavailable(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }
}
