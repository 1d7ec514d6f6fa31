package io.understudy.core.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The configurations shipped in {@code config/} (built into the agent and relay jars as
 * {@code understudy-config/NAME}) with their loopback addresses moved and nothing else changed:
 * {@code understudy up --ports-from} beside another appliance, and tests that run the shipped
 * defaults on free ports.
 */
public final class ShippedConfig {
    /** The addresses {@code up} uses by default, as they are written in the shipped files. */
    public static final int SIM_PORT = 8090;
    public static final int PRIMARY_PORT = 8081;
    public static final int STANDBY_PORT = 8082;
    public static final int AGENT_PORT = 4000;
    public static final int ETCD_PORT = 2379;

    /**
     * Where things are instead: {@code ownPort} for the file's own {@code server.port} (0: any free
     * port), the relays, the provider (provider-sim) and etcd as the parts reach them, and the etcd
     * key prefix's cluster name.
     */
    public record Addresses(int ownPort, int primaryPort, int standbyPort, int simPort, List<String> etcdEndpoints,
                            String cluster) {
        public Addresses {
            etcdEndpoints = List.copyOf(etcdEndpoints);
        }
    }

    private ShippedConfig() {
    }

    /** The shipped file as built in, e.g. {@code agent.yaml}. */
    public static String text(String name) {
        try (InputStream in = ShippedConfig.class.getClassLoader().getResourceAsStream("understudy-config/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no built-in config/" + name + " on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code name} (agent*, primary* or standby*.yaml) with its addresses moved. Each address it is
     * known to hold must be there: a shipped file edited out of step fails here, not silently later.
     */
    public static String moved(String name, Addresses to) {
        int ownDefault = name.startsWith("agent") ? AGENT_PORT : name.startsWith("standby") ? STANDBY_PORT : PRIMARY_PORT;
        String yaml = swap(text(name), name, "port: " + ownDefault, "port: " + to.ownPort(), true);
        if (name.startsWith("agent")) {
            yaml = swap(yaml, name, "127.0.0.1:" + PRIMARY_PORT + "/", "127.0.0.1:" + to.primaryPort() + "/", true);
            yaml = swap(yaml, name, "127.0.0.1:" + STANDBY_PORT + "/", "127.0.0.1:" + to.standbyPort() + "/", true);
        }
        // live configs call real providers: no provider-sim address in them
        yaml = swap(yaml, name, "127.0.0.1:" + SIM_PORT, "127.0.0.1:" + to.simPort(), !name.contains("-live"));
        String endpoints = to.etcdEndpoints().stream().map(e -> "\"" + e + "\"").collect(Collectors.joining(", "));
        yaml = swap(yaml, name, "endpoints: [ \"http://127.0.0.1:" + ETCD_PORT + "\" ]", "endpoints: [ " + endpoints + " ]", true);
        return swap(yaml, name, "cluster: default", "cluster: " + to.cluster(), true);
    }

    private static String swap(String yaml, String name, String from, String to, boolean required) {
        if (required && !yaml.contains(from)) {
            throw new IllegalStateException("config/" + name + " no longer contains '" + from + "': update ShippedConfig");
        }
        return yaml.replace(from, to);
    }
}
