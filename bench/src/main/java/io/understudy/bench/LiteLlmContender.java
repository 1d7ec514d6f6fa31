package io.understudy.bench;

import io.understudy.testkit.Ports;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * LiteLLM proxy with a fallback model group, as its reliability docs recommend: num_retries,
 * request_timeout, fallbacks, allowed_fails and cooldown_time; one uvicorn worker per core. Local
 * cost map, no telemetry: the benchmark talks to loopback only.
 */
record LiteLlmContender(Peers peers) implements Contender {
    private Path binary() {
        return peers.tool("litellm/bin/litellm");
    }

    @Override
    public String name() {
        return "LiteLLM";
    }

    @Override
    public Optional<String> unavailable() {
        return Files.isExecutable(binary()) ? Optional.empty() : Optional.of(peers.whyMissing("litellm"));
    }

    @Override
    public String version() {
        return "LiteLLM " + Peers.firstLine(List.of(peers.tool("litellm/bin/python").toString(), "-c",
                "import importlib.metadata as m; print(m.version('litellm'))"));
    }

    @Override
    public Deployment deploy(Stage stage) {
        Stage.SimPair sims = stage.simPair();
        int port = Ports.free();
        String conf = """
                # bin/bench: LiteLLM proxy, primary model group with a fallback group, in front of provider-sim
                model_list:
                  - model_name: gpt-4o-mini
                    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:%d/v1", api_key: sk-bench }
                  - model_name: gpt-4o-mini-backup
                    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:%d/v1", api_key: sk-bench }
                litellm_settings:
                  num_retries: 3
                  request_timeout: 10
                  fallbacks: [ { "gpt-4o-mini": [ "gpt-4o-mini-backup" ] } ]
                  telemetry: false
                router_settings:
                  allowed_fails: 3
                  cooldown_time: 30
                """.formatted(sims.primaryPort(), sims.backupPort());
        Path file = stage.write("litellm.yaml", conf);
        ExternalProcess litellm = stage.external("litellm", List.of(binary().toString(), "--config", file.toString(),
                        "--host", "127.0.0.1", "--port", String.valueOf(port), "--num_workers", String.valueOf(Runtime.getRuntime().availableProcessors())),
                Map.of("LITELLM_LOCAL_MODEL_COST_MAP", "True", "LITELLM_TELEMETRY", "False", "LITELLM_LOG", "ERROR",
                        "NO_DOCS", "True"),
                port, Duration.ofSeconds(120));
        return new Deployment("http://127.0.0.1:" + port, Map.of(), Optional.of(sims.primary()), List.of(litellm.handle()),
                Map.of("litellm.yaml", conf));
    }
}
