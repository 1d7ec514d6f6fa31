package io.understudy.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An Understudy part (relay, agent, sim) as a real OS process, so SIGKILL and SIGSTOP are real.
 * It announces {@code listening port=N} on stdout; all output also goes to a log file.
 * {@link #close()} always kills it, so a failing test leaves nothing behind.
 */
public final class JavaProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening port=(\\d+)");

    private final String name;
    private final Process process;
    private final Path log;
    private final CompletableFuture<Integer> port = new CompletableFuture<>();

    private JavaProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        // a platform thread: reading a pipe blocks its carrier, and a few such virtual threads can
        // occupy every carrier and starve all other virtual threads of the caller (seen in bin/bench)
        Thread.ofPlatform().daemon().name("out-" + name).start(this::pump);
    }

    /** Starts {@code mainClass} with this JVM's classpath and waits until it listens. */
    public static JavaProcess start(String name, Path logDir, String mainClass, List<String> args, String... jvmArgs) {
        List<String> command = new ArrayList<>();
        // as a service manager starts it: SIGHUP at its default, even when the tests run under nohup,
        // which would leave it ignored in every child and so turn off reloading by SIGHUP
        command.add("env");
        command.add("--default-signal=HUP");
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-Xmx256m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:TieredStopAtLevel=1");
        command.addAll(List.of(jvmArgs));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        try {
            Files.createDirectories(logDir);
            Path log = logDir.resolve(name + ".log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            JavaProcess p = new JavaProcess(name, process, log);
            p.awaitPort(Duration.ofSeconds(30));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void pump() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             var out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                out.write(line);
                out.newLine();
                out.flush();
                Matcher m = LISTENING.matcher(line);
                if (!port.isDone() && m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException ignored) {
            // process gone
        } finally {
            port.completeExceptionally(new IllegalStateException(name + " exited before it listened; see " + log));
        }
    }

    private void awaitPort(Duration timeout) {
        try {
            port.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            close();
            throw new IllegalStateException(name + " did not start: " + e.getMessage() + "\n" + tail(), e);
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return port.join();
    }

    public ProcessHandle handle() {
        return process.toHandle();
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL: the process gets no chance to clean up. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGSTOP: the process freezes with its sockets open (a hung peer). */
    public void freeze() {
        signal("STOP");
    }

    /** SIGHUP: an Understudy part reloads its configuration (what systemd's ExecReload sends). */
    public void hangUp() {
        signal("HUP");
    }

    /** SIGCONT. */
    public void thaw() {
        signal("CONT");
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String tail() {
        return Logs.tail(log, 30);
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            thawQuietly();
            kill();
        }
    }

    private void thawQuietly() {
        try {
            signal("CONT"); // a frozen process ignores nothing but SIGKILL; CONT first keeps its pipes draining
        } catch (RuntimeException ignored) {
            // already gone
        }
    }
}
