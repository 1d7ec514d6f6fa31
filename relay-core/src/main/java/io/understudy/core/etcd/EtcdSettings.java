package io.understudy.core.etcd;

import io.helidon.config.Config;
import io.understudy.core.config.ConfigError;
import io.understudy.core.config.ConfigReader;
import io.understudy.core.provider.Secret;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where leadership lives: etcd endpoints (a 3-member cluster in production), the cluster name that
 * scopes every key, credentials, and the lease timing.
 *
 * @param endpoints      etcd client URLs
 * @param cluster        key prefix {@code /understudy/<cluster>/}
 * @param user           etcd user, if authentication is on
 * @param password       its password (from the environment)
 * @param caCert         CA certificate for TLS endpoints
 * @param leaseTtl       leader lease TTL (default 5 s)
 * @param keepAliveEvery lease renewal period (default TTL/3)
 * @param opTimeout      deadline for every single etcd call (default 1 s)
 */
public record EtcdSettings(List<URI> endpoints, String cluster, Optional<String> user, Optional<Secret> password,
                           Optional<Path> caCert, Duration leaseTtl, Duration keepAliveEvery, Duration opTimeout) {
    public EtcdSettings {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new ConfigError("etcd.endpoints", "at least one endpoint is required");
        }
        if (!cluster.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new ConfigError("etcd.cluster", "must be 1-64 letters, digits, '.', '_' or '-'");
        }
        if (leaseTtl.toSeconds() < 2) {
            throw new ConfigError("etcd.lease-ttl", "must be at least PT2S");
        }
        if (keepAliveEvery.compareTo(leaseTtl.dividedBy(2)) > 0) {
            throw new ConfigError("etcd.keep-alive", "must be at most half the lease TTL");
        }
    }

    public String prefix() {
        return "/understudy/" + cluster + "/";
    }

    public String electionName() {
        return prefix() + "leader";
    }

    /** Reads the {@code etcd:} section; empty when it is absent (no leadership: static tiers only). */
    public static Optional<EtcdSettings> from(Config root, Function<String, String> env) {
        Config etcd = root.get("etcd");
        List<String> raw = ConfigReader.strings(etcd, "endpoints");
        Optional<String> override = ConfigReader.string(etcd, "endpoints-env").map(env).filter(v -> !v.isBlank());
        if (override.isPresent()) {
            raw = List.of(override.get().split(","));
        }
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        List<URI> endpoints = new ArrayList<>();
        for (String e : raw) {
            try {
                URI uri = URI.create(e.trim());
                if (uri.getHost() == null) {
                    throw new IllegalArgumentException();
                }
                endpoints.add(uri);
            } catch (IllegalArgumentException bad) {
                throw new ConfigError("etcd.endpoints", "'" + e + "' is not a URL such as http://127.0.0.1:2379");
            }
        }
        Duration ttl = ConfigReader.duration(etcd, "lease-ttl", Duration.ofSeconds(5));
        return Optional.of(new EtcdSettings(endpoints, ConfigReader.string(etcd, "cluster", "default"),
                ConfigReader.string(etcd, "user"),
                ConfigReader.string(etcd, "password-env").map(env).filter(v -> !v.isBlank()).map(Secret::new),
                ConfigReader.string(etcd, "ca-cert").map(Path::of),
                ttl, ConfigReader.duration(etcd, "keep-alive", ttl.dividedBy(3)),
                ConfigReader.duration(etcd, "op-timeout", Duration.ofSeconds(1))));
    }

}
