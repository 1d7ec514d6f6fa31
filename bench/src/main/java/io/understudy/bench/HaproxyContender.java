package io.understudy.bench;

import io.understudy.testkit.Ports;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * HAProxy with a {@code backup} server and active health checks on their documented defaults
 * (inter 2s, fall 3, rise 2), redispatch and retries on connection failures; timeouts from the
 * configuration manual's example; http-no-delay, which the manual recommends for interactive and
 * streaming traffic.
 */
record HaproxyContender(Peers peers) implements Contender {
    @Override
    public String name() {
        return "HAProxy";
    }

    @Override
    public Optional<String> unavailable() {
        return peers.executable("haproxy").isPresent() ? Optional.empty() : Optional.of(peers.whyMissing("haproxy"));
    }

    @Override
    public String version() {
        return Peers.firstLine(List.of(peers.executable("haproxy").orElseThrow().toString(), "-v"));
    }

    @Override
    public Deployment deploy(Stage stage) {
        Stage.SimPair sims = stage.simPair();
        int port = Ports.free();
        String conf = """
                # bin/bench: HAProxy as primary + backup in front of provider-sim
                global
                    maxconn 8192
                defaults
                    mode http
                    option http-keep-alive
                    # streams: send each SSE event at once (otherwise small writes wait up to 200 ms)
                    option http-no-delay
                    option redispatch
                    retries 3
                    retry-on conn-failure empty-response response-timeout
                    timeout connect 5s
                    timeout client 50s
                    timeout server 50s
                frontend llm
                    bind 127.0.0.1:%d
                    default_backend providers
                backend providers
                    option httpchk GET /health
                    server primary 127.0.0.1:%d check inter 2s fall 3 rise 2
                    server backup 127.0.0.1:%d check inter 2s fall 3 rise 2 backup
                """.formatted(port, sims.primaryPort(), sims.backupPort());
        Path file = stage.write("haproxy.cfg", conf);
        ExternalProcess haproxy = stage.external("haproxy", List.of(peers.executable("haproxy").orElseThrow().toString(),
                "-db", "-f", file.toString()), Map.of(), port, Duration.ofSeconds(20));
        return new Deployment("http://127.0.0.1:" + port, Map.of(), Optional.of(sims.primary()), List.of(haproxy.handle()),
                Map.of("haproxy.cfg", conf));
    }
}
