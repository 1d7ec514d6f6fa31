package io.understudy.bench;

import io.understudy.testkit.Ports;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * nginx with a {@code backup} upstream, per its docs: passive health (max_fails/fail_timeout),
 * proxy_next_upstream on errors, timeouts and 502/503/504 (non_idempotent, since chat completions are
 * POSTs), keepalive to the upstreams, no buffering so streams flow. Timeouts are nginx's defaults.
 */
record NginxContender(Peers peers) implements Contender {
    @Override
    public String name() {
        return "nginx";
    }

    @Override
    public Optional<String> unavailable() {
        return peers.executable("nginx").isPresent() ? Optional.empty() : Optional.of(peers.whyMissing("nginx"));
    }

    @Override
    public String version() {
        return Peers.firstLine(List.of(peers.executable("nginx").orElseThrow().toString(), "-v")).replace("nginx version: ", "");
    }

    @Override
    public Deployment deploy(Stage stage) {
        Stage.SimPair sims = stage.simPair();
        int port = Ports.free();
        Path dir = stage.dir();
        String conf = """
                # bin/bench: nginx as primary + backup in front of provider-sim
                daemon off;
                master_process on;
                worker_processes auto;
                %s
                pid %s/nginx.pid;
                error_log %s/nginx-error.log warn;
                events { worker_connections 4096; }
                http {
                    access_log off;
                    client_body_temp_path %s/client_temp;
                    proxy_temp_path %s/proxy_temp;
                    upstream llm {
                        server 127.0.0.1:%d max_fails=1 fail_timeout=10s;
                        server 127.0.0.1:%d backup;
                        keepalive 64;
                    }
                    server {
                        listen 127.0.0.1:%d;
                        location / {
                            proxy_pass http://llm;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_buffering off;
                            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
                        }
                    }
                }
                """.formatted("root".equals(System.getProperty("user.name")) ? "user root;" : "", dir, dir, dir, dir,
                sims.primaryPort(), sims.backupPort(), port);
        Path file = stage.write("nginx.conf", conf);
        ExternalProcess nginx = stage.external("nginx", List.of(peers.executable("nginx").orElseThrow().toString(),
                "-p", dir.toString(), "-c", file.toString()), Map.of(), port, Duration.ofSeconds(20));
        return new Deployment("http://127.0.0.1:" + port, Map.of(), Optional.of(sims.primary()), List.of(nginx.handle()),
                Map.of("nginx.conf", conf));
    }
}
