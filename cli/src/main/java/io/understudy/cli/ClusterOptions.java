package io.understudy.cli;

import io.understudy.core.etcd.ClusterState;
import io.understudy.core.etcd.EtcdGateway;
import io.understudy.core.etcd.EtcdSettings;
import io.understudy.core.etcd.EtcdUnavailable;
import picocli.CommandLine.Option;

import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Where the cluster's facts live, shared by the operator commands. */
final class ClusterOptions {
    /** Exit codes of the operator commands (also in docs/OPERATIONS.md). */
    static final int ETCD_UNREACHABLE = 3;
    static final int PRECONDITION_FAILED = 4;
    static final int TIMED_OUT = 5;

    @Option(names = "--etcd", description = "etcd endpoints, comma-separated (default: $UNDERSTUDY_ETCD or http://127.0.0.1:2379)")
    String endpoints;

    @Option(names = "--cluster", defaultValue = "default", description = "Cluster name (default: ${DEFAULT-VALUE})")
    String cluster;

    @Option(names = "--json", description = "Machine-readable output")
    boolean json;

    /** One operator action against the cluster; returns the exit code. */
    @FunctionalInterface
    interface Action {
        int run(ClusterState cluster) throws InterruptedException;
    }

    /**
     * Runs the action against etcd's JSON gateway (no gRPC to load: the command answers in a
     * fraction of a second), and turns an unreachable etcd into its exit code.
     */
    int run(Action action) throws InterruptedException {
        Logging.quiet();
        try {
            return action.run(new ClusterState(connect()));
        } catch (EtcdUnavailable e) {
            System.err.println("understudy: etcd unreachable: " + e.getMessage());
            return ETCD_UNREACHABLE;
        }
    }

    private EtcdGateway connect() {
        String raw = endpoints != null ? endpoints
                : Optional.ofNullable(System.getenv("UNDERSTUDY_ETCD")).filter(s -> !s.isBlank()).orElse("http://127.0.0.1:2379");
        List<URI> uris;
        try {
            uris = Arrays.stream(raw.split(",")).map(String::trim).map(URI::create).toList();
        } catch (IllegalArgumentException e) {
            throw new UserError("--etcd: '" + raw + "' is not a list of URLs");
        }
        return new EtcdGateway(new EtcdSettings(uris, cluster, Optional.empty(), Optional.empty(), Optional.empty(),
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(2)));
    }
}
