package io.understudy.dist;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.understudy.agent.AgentConfig;
import io.understudy.relay.RelayConfig;
import io.understudy.relay.RelayServer;
import io.understudy.testkit.Logs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Helm chart (deploy/helm/understudy) and the agent sidecar example (deploy/kubernetes):
 * {@code helm lint} and {@code helm template} with a real Helm, then the rendered manifests held
 * against the code: each relay's config is read by the relay's own config reader, ports and the
 * Services agree, the probes name paths a running relay answers, and the sidecar's agent config
 * is read by the agent's reader and points at the Services the chart makes.
 */
class DeployTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path CHART = ROOT.resolve("deploy/helm/understudy");

    @TempDir
    Path dir;

    @Test
    void theChartLintsAndRendersRelaysTheCodeCanRun() throws Exception {
        assertEquals(0, helm("lint", CHART.toString()).exit(), "helm lint");
        Helm rendered = helm("template", "rel", CHART.toString());
        assertEquals(0, rendered.exit(), rendered.output());
        List<Map<String, Object>> docs = documents(rendered.output());

        // the keys the Secret would hold: a relay is ready only with a provider it can call
        Map<String, String> secret = Map.of("OPENAI_API_KEY", "sk-test", "ANTHROPIC_API_KEY", "sk-ant-test");
        RelayConfig rendered0 = RelayConfig.from(yaml((String) map(one(docs, "ConfigMap", "rel-understudy-primary"), "data")
                .get("relay.yaml")), secret::get);
        // the rendered config itself, moved to loopback and without etcd, runs the relay the probes are sent to
        RelayConfig local = new RelayConfig("127.0.0.1", 0, rendered0.role(), rendered0.maxBodyBytes(), rendered0.logPrompts(),
                rendered0.clientKeys(), rendered0.providers(), rendered0.routes(), rendered0.prices(), rendered0.feePercent(),
                rendered0.receiptsKept(), rendered0.instance(), rendered0.advertiseUrl(), Optional.empty(), rendered0.drainBound(),
                rendered0.failover(), Duration.ZERO, rendered0.tracing(), rendered0.maxConcurrentRequests());
        try (RelayServer probeTarget = RelayServer.start(local, new io.understudy.primary.PrimaryRole())) {
            HttpClient http = HttpClient.newHttpClient();
            for (String role : List.of("primary", "standby")) {
                Map<String, Object> configMap = one(docs, "ConfigMap", "rel-understudy-" + role);
                String relayYaml = (String) map(configMap, "data").get("relay.yaml");
                RelayConfig config = RelayConfig.from(yaml(relayYaml), secret::get);
                assertTrue(io.understudy.core.config.ConfigReloads.Settings.from(yaml(relayYaml)).watch(),
                        "a helm upgrade of providers or routes reaches the running " + role + ": it watches its file");
                assertEquals(role, config.role().wireName());
                assertEquals(role + "-1", config.instance());
                assertEquals(Optional.of("http://rel-understudy-" + role + ":" + config.port() + "/v1"), config.advertiseUrl(),
                        "the relay registers the address of its Service");
                assertTrue(config.etcd().isPresent(), "leadership needs etcd");

                Map<String, Object> deployment = one(docs, "Deployment", "rel-understudy-" + role);
                Map<String, Object> pod = map(map(deployment, "spec"), "template");
                Map<String, Object> container = list(map(pod, "spec"), "containers").get(0);
                assertEquals(List.of("relay", "--role", role, "--config", "/etc/understudy/relay.yaml"), container.get("args"));
                Map<String, Object> mount = list(container, "volumeMounts").get(0);
                assertEquals("/etc/understudy", mount.get("mountPath"), "the config file is where --config says");
                Map<String, Object> port = list(container, "ports").get(0);
                assertEquals(config.port(), port.get("containerPort"), "the container port is the relay's server.port");
                for (String probe : List.of("readinessProbe", "livenessProbe")) {
                    Map<String, Object> get = map(map(container, probe), "httpGet");
                    assertEquals(port.get("name"), get.get("port"));
                    HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probeTarget.port()
                            + get.get("path"))).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, answer.statusCode(), probe + " " + get.get("path") + " is answered by a relay");
                }
                Map<String, Object> service = one(docs, "Service", "rel-understudy-" + role);
                Map<String, Object> servicePort = list(map(service, "spec"), "ports").get(0);
                assertEquals(config.port(), servicePort.get("port"));
                assertEquals(port.get("name"), servicePort.get("targetPort"));
                assertEquals(map(map(deployment, "spec"), "selector").get("matchLabels"), map(service, "spec").get("selector"));
            }
        }
        Map<String, Object> pdb = one(docs, "PodDisruptionBudget", "rel-understudy-relays");
        Map<String, Object> selector = map(map(map(pdb, "spec"), "selector"), "matchLabels");
        for (String role : List.of("primary", "standby")) {
            Map<String, Object> labels = map(map(map(map(one(docs, "Deployment", "rel-understudy-" + role), "spec"), "template"), "metadata"),
                    "labels");
            selector.forEach((k, v) -> assertEquals(v, labels.get(k), "the disruption budget covers the " + role + " relay"));
        }
    }

    @Test
    void theSidecarExampleRunsAnAgentOnLoopbackInFrontOfTheChartsRelays() throws Exception {
        List<Map<String, Object>> docs = documents(Files.readString(ROOT.resolve("deploy/kubernetes/agent-sidecar.yaml")));
        String agentYaml = (String) map(one(docs, "ConfigMap", "my-app-understudy-agent"), "data").get("agent.yaml");
        AgentConfig config = AgentConfig.from(yaml(agentYaml), Map.<String, String>of()::get);
        assertTrue(io.understudy.core.config.ConfigReloads.Settings.from(yaml(agentYaml)).watch(),
                "an edited ConfigMap reaches the sidecar without restarting the app's pod");
        assertEquals("127.0.0.1", config.host(), "only the pod's own containers reach it");
        assertEquals(4000, config.port());
        List<String> relayUrls = new ArrayList<>();
        config.tiers().forEach(t -> t.instances().forEach(i -> relayUrls.add(i.baseUrl().toString())));
        Helm rendered = helm("template", "rel", CHART.toString());
        List<Map<String, Object>> chart = documents(rendered.output());
        for (String role : List.of("primary", "standby")) {
            Map<String, Object> service = one(chart, "Service", "rel-understudy-" + role);
            Object port = list(map(service, "spec"), "ports").get(0).get("port");
            assertTrue(relayUrls.contains("http://rel-understudy-" + role + ":" + port + "/v1"), relayUrls + " names the chart's " + role);
        }
        Map<String, Object> podSpec = map(map(map(one(docs, "Deployment", "my-app"), "spec"), "template"), "spec");
        Map<String, Object> sidecar = list(podSpec, "initContainers").get(0);
        assertEquals("Always", sidecar.get("restartPolicy"), "a native sidecar: up before the app, down after it");
        assertEquals(List.of("agent", "--config", "/etc/understudy/agent.yaml"), sidecar.get("args"));
        Map<String, Object> app = list(podSpec, "containers").get(0);
        assertTrue(app.get("env").toString().contains("http://127.0.0.1:" + config.port() + "/v1"), "the app points at the agent");
        assertFalse(sidecar.containsKey("readinessProbe"), "kubelet cannot reach a loopback-only agent");
    }

    private record Helm(int exit, String output) {
    }

    private Helm helm(String... args) throws IOException, InterruptedException {
        Path helm = Optional.ofNullable(System.getenv("UNDERSTUDY_HELM")).map(Path::of)
                .orElse(ROOT.resolve(".understudy/tools/bin/helm"));
        assertTrue(Files.isExecutable(helm), "Helm at " + helm + " (bin/test installs it)");
        List<String> command = new ArrayList<>(List.of(helm.toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("helm-" + args[0] + ".out");
        ProcessBuilder b = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(dir.resolve("helm.err").toFile());
        b.environment().put("HELM_CACHE_HOME", dir.resolve("helm-cache").toString()); // nothing written outside the test
        b.environment().put("HELM_CONFIG_HOME", dir.resolve("helm-config").toString());
        b.environment().put("HELM_DATA_HOME", dir.resolve("helm-data").toString());
        Process p = b.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "helm " + args[0] + " ends");
        return new Helm(p.exitValue(), Files.readString(out) + Logs.tail(dir.resolve("helm.err"), 20));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> documents(String text) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml().loadAll(text)) {
            if (doc instanceof Map<?, ?> m) {
                docs.add((Map<String, Object>) m);
            }
        }
        return docs;
    }

    private static Map<String, Object> one(List<Map<String, Object>> docs, String kind, String name) {
        List<Map<String, Object>> found = docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(map(d, "metadata").get("name")))
                .toList();
        assertEquals(1, found.size(), "one " + kind + " " + name);
        return found.get(0);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        return (Map<String, Object>) parent.get(key);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> parent, String key) {
        return (List<Map<String, Object>>) parent.get(key);
    }

    private static Config yaml(String text) {
        return Config.just(ConfigSources.create(text, MediaTypes.APPLICATION_X_YAML));
    }
}
