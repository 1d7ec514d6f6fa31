package io.understudy.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.nio.file.Files;

/**
 * {@code understudy up}: the whole appliance on its embedded defaults, each part its own process,
 * all stopped together on Ctrl-C or SIGTERM.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the appliance on embedded defaults and print where to point an OpenAI SDK.")
final class UpCommand implements Runnable {
    /** The agent's admin token (for {@code understudy drill}) is written here, readable by this user only. */
    static final String ADMIN_TOKEN_FILE = "admin-token";
    static final String ADMIN_TOKEN_ENV = "UNDERSTUDY_ADMIN_TOKEN";
    /**
     * How long each part may take to become ready. Cold JVMs share the cores while both relays
     * rehearse their request paths: on an idle 2-core machine the agent took 8.9 s from JVM start to
     * listening, and CI once saw it miss a 30 s wait (ci90).
     */
    static final Duration STARTUP_PATIENCE = Duration.ofSeconds(120);

    @Option(names = "--ports-from", paramLabel = "PORT",
            description = "Listen on PORT (provider-sim), PORT+1 (primary), PORT+2 (standby), PORT+3 (agent), PORT+4 and "
                    + "PORT+5 (etcd) instead of 8090, 8081, 8082, 4000, 2379 and 2380: a second appliance beside the first. "
                    + "Pick PORT below the kernel's ephemeral range (32768 on Linux), where outgoing connections cannot take it")
    Integer portsFrom;

    @Option(names = "--state-dir", defaultValue = ".understudy",
            description = "Where logs and runtime state go (default: ${DEFAULT-VALUE})")
    Path stateDir;

    @Option(names = "--sim", description = "Use provider-sim even when provider keys are set")
    boolean forceSim;

    private final List<ChildProcess> children = new ArrayList<>();
    private int simPort = io.understudy.core.config.ShippedConfig.SIM_PORT;
    private int primaryPort = io.understudy.core.config.ShippedConfig.PRIMARY_PORT;
    private int standbyPort = io.understudy.core.config.ShippedConfig.STANDBY_PORT;
    private int agentPort = io.understudy.core.config.ShippedConfig.AGENT_PORT;
    private int etcdPort = io.understudy.core.config.ShippedConfig.ETCD_PORT;
    private int etcdPeerPort = io.understudy.core.config.ShippedConfig.ETCD_PORT + 1;

    @Override
    public void run() {
        boolean live = !forceSim && (present("OPENAI_API_KEY") || present("ANTHROPIC_API_KEY"));
        if (portsFrom != null) {
            if (portsFrom < 1024 || portsFrom > 65535 - 5) {
                throw new UserError("--ports-from must be between 1024 and 65530");
            }
            simPort = portsFrom;
            primaryPort = portsFrom + 1;
            standbyPort = portsFrom + 2;
            agentPort = portsFrom + 3;
            etcdPort = portsFrom + 4;
            etcdPeerPort = portsFrom + 5;
        }
        Path logs = stateDir.resolve("logs").toAbsolutePath();
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll, "up-shutdown"));

        String configuredEtcd = System.getenv("UNDERSTUDY_ETCD");
        boolean localEtcd = configuredEtcd == null || configuredEtcd.isBlank();
        List<Integer> ports = new ArrayList<>(live ? List.of(primaryPort, standbyPort, agentPort)
                : List.of(simPort, primaryPort, standbyPort, agentPort));
        if (localEtcd) {
            ports.addAll(List.of(etcdPort, etcdPeerPort));
        }
        for (int port : ports) {
            requireFree(port);
        }
        String etcdEndpoint = localEtcd ? "http://127.0.0.1:" + etcdPort : configuredEtcd;
        String adminToken = adminToken();
        if (localEtcd) {
            startEtcd(logs);
        }
        if (!live) {
            ChildProcess sim = launch("sim", logs, "256m", List.of("sim", "--port", String.valueOf(simPort)), Map.of());
            sim.awaitReady(URI.create("http://127.0.0.1:" + simPort + "/health"), STARTUP_PATIENCE);
        }
        String variant = live ? "-live.yaml" : ".yaml";
        ChildProcess primary = launch("primary", logs, "512m", List.of("relay", "--role", "primary",
                "--config", config("primary" + variant, primaryPort, etcdEndpoint)), Map.of());
        ChildProcess standby = launch("standby", logs, "512m", List.of("relay", "--role", "standby",
                "--config", config("standby" + variant, standbyPort, etcdEndpoint), "--port", String.valueOf(standbyPort)), Map.of());
        primary.awaitReady(URI.create("http://127.0.0.1:" + primaryPort + "/health/ready"), STARTUP_PATIENCE);
        standby.awaitReady(URI.create("http://127.0.0.1:" + standbyPort + "/health/ready"), STARTUP_PATIENCE);
        ChildProcess agent = launch("agent", logs, "128m", List.of("agent",
                "--config", config("agent" + variant, agentPort, etcdEndpoint)), Map.of(ADMIN_TOKEN_ENV, adminToken));
        agent.awaitReady(URI.create("http://127.0.0.1:" + agentPort + "/health/ready"), STARTUP_PATIENCE);

        printBanner(live, logs, etcdEndpoint, localEtcd);
        watch();
    }

    /**
     * The built-in config {@code name} on the default ports; on others (--ports-from, or etcd from
     * UNDERSTUDY_ETCD), a copy with only its addresses moved, written under the state directory.
     */
    private String config(String name, int ownPort, String etcdEndpoint) {
        if (portsFrom == null) {
            return "builtin:" + name;
        }
        String yaml = io.understudy.core.config.ShippedConfig.moved(name, new io.understudy.core.config.ShippedConfig.Addresses(
                ownPort, primaryPort, standbyPort, simPort, List.of(etcdEndpoint), "default"));
        try {
            Path file = Files.createDirectories(stateDir.resolve("config").toAbsolutePath()).resolve(name);
            Files.writeString(file, yaml);
            return file.toString();
        } catch (IOException e) {
            throw new UserError("cannot write " + name + " under " + stateDir + ": " + e.getMessage());
        }
    }

    /**
     * The agent's admin token for this run: from UNDERSTUDY_ADMIN_TOKEN when set, else a new random
     * one, written to {@code <state-dir>/admin-token} (owner-only) for {@code understudy drill}.
     */
    private String adminToken() {
        String token = System.getenv(ADMIN_TOKEN_ENV);
        if (token == null || token.isBlank()) {
            byte[] random = new byte[24];
            new java.security.SecureRandom().nextBytes(random);
            token = java.util.HexFormat.of().formatHex(random);
        }
        Path file = stateDir.resolve(ADMIN_TOKEN_FILE).toAbsolutePath();
        try {
            Files.createDirectories(file.getParent());
            Files.deleteIfExists(file);
            Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, token + "\n");
        } catch (IOException | UnsupportedOperationException e) {
            throw new UserError("cannot write the admin token to " + file + ": " + e.getMessage());
        }
        return token;
    }

    /** A local single-member etcd, its data under the state directory, loopback only. */
    private void startEtcd(Path logs) {
        Path data = stateDir.resolve("etcd").toAbsolutePath();
        String client = "http://127.0.0.1:" + etcdPort;
        String peer = "http://127.0.0.1:" + etcdPeerPort;
        ChildProcess etcd = ChildProcess.startExternal("etcd", logs, List.of("etcd", "--name", "understudy",
                "--data-dir", data.toString(), "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "understudy=" + peer, "--initial-cluster-state", "new"));
        synchronized (children) {
            children.add(etcd);
        }
        etcd.awaitReady(URI.create(client + "/health"), STARTUP_PATIENCE);
    }

    private ChildProcess launch(String name, Path logs, String heap, List<String> args, Map<String, String> env) {
        ChildProcess child = ChildProcess.start(name, logs, heap, args, env);
        synchronized (children) {
            children.add(child);
        }
        return child;
    }

    /**
     * Reports a part that exits on its own and keeps the rest running: surviving the loss of a part
     * is the point of the appliance. Returns (exit 1) only when every part is gone.
     */
    private void watch() {
        java.util.Set<ChildProcess> reported = new java.util.HashSet<>();
        while (true) {
            boolean allGone;
            synchronized (children) {
                for (ChildProcess child : children) {
                    if (!child.alive() && reported.add(child)) {
                        System.err.println("understudy: " + child.name() + " exited (code " + child.exitCode()
                                + "); the others keep running. Its log: " + child.log());
                    }
                }
                allGone = !children.isEmpty() && reported.size() == children.size();
            }
            if (allGone) { // exit outside the lock: the shutdown hook takes it to stop the children
                System.err.println("understudy: every part has exited");
                System.exit(1);
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void stopAll() {
        List<ChildProcess> toStop;
        synchronized (children) {
            toStop = new ArrayList<>(children);
            children.clear();
        }
        for (int i = toStop.size() - 1; i >= 0; i--) {
            toStop.get(i).stop(Duration.ofSeconds(10));
        }
    }

    private static void requireFree(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (IOException e) {
            throw new UserError("port " + port + " on 127.0.0.1 is in use (is another 'understudy up' running?)");
        }
    }

    private static boolean present(String env) {
        String v = System.getenv(env);
        return v != null && !v.isBlank();
    }

    private void printBanner(boolean live, Path logs, String etcdEndpoint, boolean localEtcd) {
        String base = "http://127.0.0.1:" + agentPort + "/v1";
        String key = present("UNDERSTUDY_AGENT_KEYS") ? "<one of UNDERSTUDY_AGENT_KEYS>" : "unused";
        String model = live && !present("OPENAI_API_KEY") ? "claude-sonnet-4-5" : "gpt-4o-mini";
        StringBuilder sb = new StringBuilder();
        sb.append('\n');
        if (live) {
            List<String> using = new ArrayList<>();
            if (present("OPENAI_API_KEY")) {
                using.add("OpenAI (OPENAI_API_KEY)");
            }
            if (present("ANTHROPIC_API_KEY")) {
                using.add("Anthropic (ANTHROPIC_API_KEY)");
            }
            sb.append("Understudy is up, routing to real providers: ").append(String.join(", ", using))
                    .append(".\n  (run with --sim to use the simulator instead)\n\n");
        } else {
            sb.append("Understudy is up with the simulated provider (no OPENAI_API_KEY or ANTHROPIC_API_KEY set).\n\n");
        }
        sb.append("  failover agent  http://127.0.0.1:").append(agentPort).append("/v1   status page http://127.0.0.1:")
                .append(agentPort).append("/\n");
        sb.append("  primary relay   http://127.0.0.1:").append(primaryPort).append("/v1\n");
        sb.append("  standby relay   http://127.0.0.1:").append(standbyPort).append("/v1\n");
        if (!live) {
            sb.append("  provider-sim    http://127.0.0.1:").append(simPort).append("/v1   attempts log /sim/attempts\n");
        }
        sb.append("  etcd            ").append(etcdEndpoint).append(localEtcd ? "   (local, data in " + stateDir.resolve("etcd")
                + "; set UNDERSTUDY_ETCD to use yours)" : "   (from UNDERSTUDY_ETCD)").append('\n');
        String etcdFlag = localEtcd && portsFrom == null ? "" : " --etcd " + etcdEndpoint;
        sb.append("\nOperate:  bin/understudy status").append(etcdFlag)
                .append(" | promote standby [--force] | switchover --to primary | history\n");
        sb.append("Rehearse: bin/understudy drill").append(portsFrom == null ? "" : " --agent http://127.0.0.1:" + agentPort)
                .append(etcdFlag).append(stateDir.equals(Path.of(".understudy")) ? ""
                        : " --admin-token-file " + stateDir.resolve(ADMIN_TOKEN_FILE)).append('\n');
        sb.append("\nPoint an OpenAI SDK at the agent:\n\n  base_url=").append(base).append("\n  api_key=").append(key)
                .append("\n\n");
        sb.append("  curl -s ").append(base).append("/chat/completions \\\n")
                .append("    -H 'Content-Type: application/json'");
        if (present("UNDERSTUDY_AGENT_KEYS")) {
            sb.append(" -H \"Authorization: Bearer $YOUR_KEY\"");
        }
        sb.append(" \\\n    -d '{\"model\":\"").append(model)
                .append("\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n\n");
        sb.append("  # Python: pip install openai\n");
        sb.append("  from openai import OpenAI\n");
        sb.append("  client = OpenAI(base_url=\"").append(base).append("\", api_key=\"").append(key).append("\")\n");
        sb.append("  reply = client.chat.completions.create(model=\"").append(model)
                .append("\", messages=[{\"role\": \"user\", \"content\": \"Hello\"}])\n");
        sb.append("  print(reply.choices[0].message.content)\n\n");
        sb.append("Logs: ").append(logs).append("    Stop: Ctrl-C\n");
        System.out.print(sb);
        System.out.flush();
    }
}
