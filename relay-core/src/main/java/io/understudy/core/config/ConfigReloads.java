package io.understudy.core.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hot reload of a process's configuration: on SIGHUP (systemd's {@code ExecReload}, {@code kill -HUP})
 * or, when a watch is on, when the file's content changes, the configuration is read again and
 * handed to the process, which builds what it needs from it and swaps it in. Requests in flight
 * finish on what they started with. A configuration that does not load, or that the process
 * refuses, changes nothing: the running one stays, the error is logged with the offending key and
 * counted. One reload runs at a time.
 *
 * @param <T> the process's configuration record
 */
public final class ConfigReloads<T> implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ConfigReloads.class.getName());

    /** What one reload did. */
    public sealed interface Outcome {
        /** A line for the log and {@code /status}. */
        String describe();

        /** Swapped in as generation {@code generation}; {@code notes} name what waits for a restart. */
        record Applied(int generation, List<String> notes) implements Outcome {
            public String describe() {
                return "applied as generation " + generation + (notes.isEmpty() ? "" : "; " + String.join("; ", notes));
            }
        }

        /** The configuration read is the one running: nothing to do. */
        record Unchanged(int generation) implements Outcome {
            public String describe() {
                return "unchanged (generation " + generation + " stays)";
            }
        }

        /** Not applied; {@code key} is the offending key (empty when the file itself is the problem). */
        record Refused(String key, String problem) implements Outcome {
            public String describe() {
                return "refused, the running configuration stays: " + problem;
            }
        }
    }

    /**
     * Builds everything {@code config} needs and swaps it in, or throws {@link ConfigError} to refuse
     * it before anything changed. Returns notes on keys that change only at a restart.
     */
    @FunctionalInterface
    public interface Target<T> {
        List<String> apply(T config);
    }

    /** Where the configuration comes from and whether to watch it, read from its {@code reload:} section. */
    public record Settings(boolean watch, Duration interval) {
        public static Settings from(io.helidon.config.Config root) {
            io.helidon.config.Config reload = root.get("reload");
            boolean watch = ConfigReader.bool(reload, "watch", false);
            Duration interval = ConfigReader.duration(reload, "interval", Duration.ofSeconds(2));
            if (interval.compareTo(Duration.ofMillis(100)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new ConfigError("reload.interval", "must be between PT0.1S and PT1H");
            }
            return new Settings(watch, interval);
        }
    }

    private final String process;
    private final Supplier<T> load;
    private final Target<T> target;
    private final Clock clock;
    private final LongAdder applied = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private T running;
    private int generation = 1;
    private volatile String last = "";
    private volatile Thread watcher;
    private volatile boolean sighup;

    /**
     * @param process the process's name in log lines
     * @param load    reads the configuration again (throws {@link ConfigError} when it cannot)
     * @param running the configuration the process started with (generation 1)
     */
    public ConfigReloads(String process, Supplier<T> load, T running, Target<T> target, Clock clock) {
        this.process = process;
        this.load = load;
        this.running = running;
        this.target = target;
        this.clock = clock;
    }

    /** Reads the configuration again and applies it unless it is unchanged or refused. */
    public synchronized Outcome reload(String trigger) {
        Outcome outcome;
        try {
            T next = load.get();
            if (next.equals(running)) {
                outcome = new Outcome.Unchanged(generation);
            } else {
                List<String> notes = target.apply(next);
                running = next;
                generation++;
                outcome = new Outcome.Applied(generation, List.copyOf(notes));
            }
        } catch (ConfigError e) {
            outcome = new Outcome.Refused(e.key(), e.getMessage());
        } catch (RuntimeException e) { // a bug while building: refuse rather than leave half a swap behind
            LOG.log(Level.SEVERE, process + " configuration reload failed unexpectedly", e);
            outcome = new Outcome.Refused("", "unexpected error while building it: " + e);
        }
        Outcome o = outcome;
        // before the counters (and the log line too): whoever sees a count change finds the matching line
        last = clock.instant() + " (" + trigger + ") " + o.describe();
        switch (o) {
            case Outcome.Applied a -> {
                LOG.info(() -> process + " configuration reloaded (" + trigger + "): " + a.describe());
                applied.increment();
            }
            case Outcome.Unchanged u -> LOG.info(() -> process + " configuration reload (" + trigger + "): " + u.describe());
            case Outcome.Refused r -> {
                LOG.severe(() -> process + " configuration reload (" + trigger + ") " + r.describe());
                refused.increment();
            }
        }
        return o;
    }

    /** Reloaded configurations swapped in since start. */
    public long applied() {
        return applied.sum();
    }

    /** Reloads refused since start (the running configuration stayed). */
    public long refused() {
        return refused.sum();
    }

    /** The generation running: 1 at start, one more for each reload applied. */
    public synchronized int generation() {
        return generation;
    }

    /** The last reload: when, what started it and what it did; empty before the first. */
    public String last() {
        return last;
    }

    /**
     * {@code PREFIX_config_reloads_total{result=applied|refused}} and {@code PREFIX_config_generation}:
     * an alert on refused reloads catches a bad config before the next restart does.
     */
    public void bindTo(io.micrometer.core.instrument.MeterRegistry registry, String prefix) {
        for (String result : List.of("applied", "refused")) {
            io.micrometer.core.instrument.FunctionCounter.builder(prefix + ".config.reloads", this,
                            r -> result.equals("applied") ? r.applied() : r.refused())
                    .description("configuration reloads (SIGHUP or a watched file), applied or refused").tag("result", result)
                    .register(registry);
        }
        io.micrometer.core.instrument.Gauge.builder(prefix + ".config.generation", this, ConfigReloads::generation)
                .description("the configuration running: 1 at start, one more per reload applied").register(registry);
    }

    /** Reloads on SIGHUP. The handler is the JVM's, so only a process's main method calls this. */
    public ConfigReloads<T> onSighup() {
        try {
            sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"),
                    signal -> Thread.ofVirtual().name("reload").start(() -> reload("SIGHUP")));
            // a process started with SIGHUP ignored (nohup) keeps it ignored: the JVM declines to install
            // a handler and says so only by handing back SIG_IGN (measured on JDK 25)
            sighup = before != sun.misc.SignalHandler.SIG_IGN;
            if (!sighup) {
                LOG.warning(() -> process + " was started with SIGHUP ignored (nohup?), so SIGHUP cannot reload it; start it "
                        + "without nohup (systemd does), or set reload.watch: true");
            }
        } catch (IllegalArgumentException e) { // the JVM keeps SIGHUP to itself (-Xrs): the watch still works
            LOG.warning(() -> process + " cannot reload on SIGHUP here (" + e.getMessage() + "); set reload.watch: true instead");
        }
        return this;
    }

    /** Whether SIGHUP reloads this process (false before {@link #onSighup}, or when SIGHUP was ignored at start). */
    public boolean reloadsOnSighup() {
        return sighup;
    }

    /**
     * Reloads when {@code file}'s content changes, checked every {@code interval}. A content must be
     * read the same twice in a row first, so a file caught halfway through a write is not refused.
     * Follows symbolic links (Kubernetes swaps a ConfigMap's files by relinking).
     */
    public ConfigReloads<T> watch(Path file, Duration interval) {
        byte[] initial = read(file).orElse(new byte[0]); // here, not in the thread: a change right after this call is a change
        watcher = Thread.ofPlatform().daemon().name("config-watch").start(() -> {
            byte[] seen = initial;
            byte[] candidate = seen;
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(interval);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                Optional<byte[]> now = read(file);
                if (now.isEmpty() || Arrays.equals(now.get(), seen)) {
                    candidate = seen;
                    continue;
                }
                if (Arrays.equals(now.get(), candidate)) { // the same new content twice: the write is over
                    seen = candidate;
                    reload("file changed");
                } else {
                    candidate = now.get();
                }
            }
        });
        return this;
    }

    /** Starts what {@code settings} asks for on {@code source} (a path, or {@code builtin:NAME}, never watched). */
    public ConfigReloads<T> start(String source, Settings settings) {
        onSighup();
        if (settings.watch() && !source.startsWith("builtin:")) {
            watch(Path.of(source), settings.interval());
            LOG.info(() -> process + " watches " + source + " every " + settings.interval().toMillis() + " ms for changes");
        }
        return this;
    }

    /** The watch settings of {@code source}'s {@code reload:} section. */
    public static Settings settingsOf(String source) {
        return ConfigReader.read(source, Settings::from);
    }

    /** Names each key of {@code keys} whose value differs between {@code running} and {@code next}. */
    public static <C> List<String> restartOnly(C running, C next, List<Key<C>> keys) {
        return keys.stream().filter(k -> !k.read().apply(running).equals(k.read().apply(next)))
                .map(k -> k.name() + " changes only at a restart").toList();
    }

    /** A configuration key read off the record, for {@link #restartOnly}. */
    public record Key<C>(String name, Function<C, Object> read) {
    }

    private static Optional<byte[]> read(Path file) {
        try {
            return Optional.of(Files.readAllBytes(file));
        } catch (IOException e) {
            return Optional.empty(); // gone for a moment (being replaced): look again next time
        }
    }

    @Override
    public void close() {
        Thread w = watcher;
        if (w != null) {
            w.interrupt();
        }
    }
}
