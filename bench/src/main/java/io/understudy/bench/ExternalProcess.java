package io.understudy.bench;

import io.understudy.testkit.Await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A peer (nginx, HAProxy, LiteLLM, Portkey) as an OS process with its output in a log file. Ready
 * when its port accepts connections; {@link #close()} kills it and every process it started.
 */
final class ExternalProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;

    private ExternalProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    static ExternalProcess start(String name, Path dir, List<String> command, Map<String, String> env, int port,
                                 Duration startTimeout) {
        Path log = dir.resolve(name + ".log");
        try {
            Files.createDirectories(dir);
            ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            builder.environment().putAll(env);
            ExternalProcess p = new ExternalProcess(name, builder.start(), log);
            p.awaitListening(port, startTimeout);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + e.getMessage(), e);
        }
    }

    private void awaitListening(int port, Duration timeout) {
        try {
            Await.until(name + " listening on " + port, timeout, () -> !process.isAlive() || accepts(port));
        } catch (AssertionError timedOut) {
            close();
            throw new IllegalStateException(name + " did not listen on " + port + " within " + timeout.toSeconds() + " s; log:\n" + tail());
        }
        if (!process.isAlive()) {
            throw new IllegalStateException(name + " exited with " + process.exitValue() + " before it listened; log:\n" + tail());
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    ProcessHandle handle() {
        return process.toHandle();
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        List<ProcessHandle> tree = Stream.concat(process.descendants(), Stream.of(process.toHandle())).toList();
        tree.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
