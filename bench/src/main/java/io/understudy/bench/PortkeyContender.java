package io.understudy.bench;

import io.understudy.testkit.Ports;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The open-source Portkey gateway (npm {@code @portkey-ai/gateway}) run with Node, with a fallback
 * config sent in the {@code x-portkey-config} header as its docs show: strategy fallback over two
 * OpenAI-compatible targets, and a request timeout so an unresponsive target falls back too.
 * The gateway has no listen-address option: it binds every interface; the benchmark only uses 127.0.0.1.
 */
record PortkeyContender(Peers peers) implements Contender {
    private Path packageDir() {
        return peers.tool("portkey/node_modules/@portkey-ai/gateway");
    }

    @Override
    public String name() {
        return "Portkey";
    }

    @Override
    public Optional<String> unavailable() {
        if (peers.executable("node").isEmpty()) {
            return Optional.of("node is not on the PATH");
        }
        return Files.isRegularFile(packageDir().resolve("build/start-server.js")) ? Optional.empty() : Optional.of(peers.whyMissing("portkey"));
    }

    @Override
    public String version() {
        String json = Peers.firstLine(List.of(peers.executable("node").orElseThrow().toString(), "-p",
                "require('" + packageDir().resolve("package.json") + "').version"));
        return "Portkey gateway " + json + " on Node " + Peers.firstLine(List.of(peers.executable("node").orElseThrow().toString(), "--version"));
    }

    @Override
    public Deployment deploy(Stage stage) {
        Stage.SimPair sims = stage.simPair();
        int port = Ports.free();
        String config = """
                {"strategy":{"mode":"fallback"},"request_timeout":10000,"targets":[\
                {"provider":"openai","api_key":"sk-bench","custom_host":"http://127.0.0.1:%d/v1"},\
                {"provider":"openai","api_key":"sk-bench","custom_host":"http://127.0.0.1:%d/v1"}]}""".formatted(
                sims.primaryPort(), sims.backupPort());
        stage.write("x-portkey-config.json", config);
        ExternalProcess gateway = stage.external("portkey", List.of(peers.executable("node").orElseThrow().toString(),
                        packageDir().resolve("build/start-server.js").toString(), "--port=" + port, "--headless"),
                Map.of("NODE_ENV", "production", "TRUSTED_CUSTOM_HOSTS", "127.0.0.1"), port, Duration.ofSeconds(60));
        return new Deployment("http://127.0.0.1:" + port, Map.of("x-portkey-config", config), Optional.of(sims.primary()),
                List.of(gateway.handle()), Map.of("x-portkey-config.json", config));
    }
}
