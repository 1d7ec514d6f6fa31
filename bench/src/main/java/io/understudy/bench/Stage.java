package io.understudy.bench;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.understudy.testkit.JavaProcess;
import io.understudy.testkit.ToxiproxyServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where one deployment of a contender runs: its directory (configs and logs), the provider-sims it
 * sits in front of, and, when the run will blackhole the primary, a Toxiproxy proxy on the path to
 * it. Closing the stage stops everything started on it.
 */
final class Stage implements AutoCloseable {
    /** How provider-sim answers: at once (overhead), or paced like a model (streaming). */
    record SimTiming(long firstTokenMillis, long tokenGapMillis, int tokens) {
        static final SimTiming INSTANT = new SimTiming(0, 0, 16);
        static final SimTiming PACED = new SimTiming(50, 10, 16);
    }

    private final Path dir;
    private final SimTiming timing;
    private final ToxiproxyServer toxiproxy; // null: no blackhole on this stage
    private final List<AutoCloseable> started = new ArrayList<>();
    private Proxy primaryProxy;
    private final List<String> backupProviders = new ArrayList<>();

    Stage(Path dir, SimTiming timing, ToxiproxyServer toxiproxy) {
        this.dir = dir;
        this.timing = timing;
        this.toxiproxy = toxiproxy;
    }

    Path dir() {
        return dir;
    }

    /**
     * The two provider-sims a system fails over between: the primary (its process, for SIGKILL, and
     * the port to reach it by, through Toxiproxy on a blackhole stage) and the backup's port.
     */
    record SimPair(ProcessHandle primary, int primaryPort, int backupPort) {
    }

    SimPair simPair() {
        JavaProcess primary = sim("sim-primary");
        JavaProcess backup = sim("sim-backup");
        backupProviders.add("http://127.0.0.1:" + backup.port());
        return new SimPair(primary.handle(), reachPrimary(primary.port()), backup.port());
    }

    /**
     * The backup providers' origins. A backup provider stands in for a provider that serves other
     * clients all day: warm, unlike a standby relay. The bench warms them directly, not through
     * the system measured.
     */
    List<String> backupProviders() {
        return List.copyOf(backupProviders);
    }

    JavaProcess sim(String name) {
        return java(name, "io.understudy.sim.SimMain", List.of("0", String.valueOf(timing.firstTokenMillis()),
                String.valueOf(timing.tokenGapMillis()), String.valueOf(timing.tokens())), "-Xmx256m");
    }

    JavaProcess java(String name, String main, List<String> args, String heap, String... more) {
        List<String> jvm = new ArrayList<>(List.of(heap, "-XX:TieredStopAtLevel=4", "-Xlog:gc*,safepoint:file=" + dir.resolve(name + "-gc.log") + ":time,uptime,level,tags"));
        jvm.addAll(List.of(more));
        JavaProcess p = JavaProcess.start(name, dir, main, args, jvm.toArray(String[]::new));
        started.add(p);
        return p;
    }

    ExternalProcess external(String name, List<String> command, Map<String, String> env, int port, Duration startTimeout) {
        ExternalProcess p = ExternalProcess.start(name, dir, command, env, port, startTimeout);
        started.add(p);
        return p;
    }

    /** The port a contender should use for its primary: through Toxiproxy when this stage blackholes it. */
    int reachPrimary(int port) {
        if (toxiproxy == null) {
            return port;
        }
        if (primaryProxy != null) {
            throw new IllegalStateException("one primary per stage");
        }
        primaryProxy = toxiproxy.proxy("primary-" + port, port);
        return ToxiproxyServer.port(primaryProxy);
    }

    /** The primary accepts connections and never answers: Toxiproxy's timeout toxic with timeout 0. */
    void blackholePrimary() {
        try {
            primaryProxy.toxics().timeout("blackhole-down", ToxicDirection.DOWNSTREAM, 0);
            primaryProxy.toxics().timeout("blackhole-up", ToxicDirection.UPSTREAM, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot blackhole the primary", e);
        }
    }

    Path write(String name, String text) {
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        for (AutoCloseable c : started.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: stop the rest
            }
        }
        if (primaryProxy != null) {
            try {
                primaryProxy.delete();
            } catch (IOException ignored) {
                // the server goes at the end of the run anyway
            }
        }
    }
}
