package io.understudy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Finding the peers bin/bench installed, and what their installers said when they could not. */
final class Peers {
    private final Path tools;

    Peers(Path root) {
        this.tools = root.resolve(".understudy/tools");
    }

    /** An executable from the PATH or /usr/sbin (Debian puts nginx and haproxy there). */
    Optional<Path> executable(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.add("/usr/sbin");
        for (String dir : dirs) {
            Path p = Path.of(dir, name);
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    Path tool(String relative) {
        return tools.resolve(relative);
    }

    /** Why {@code peer} is missing: the installer's recorded error, or a plain "not installed". */
    String whyMissing(String peer) {
        try {
            return Files.readString(tools.resolve(peer + ".install-error")).strip().replace('\n', ' ');
        } catch (IOException e) {
            return peer + " is not installed (bin/bench installs it; run bin/bench rather than the jar)";
        }
    }

    /** First line a command prints (stdout and stderr), e.g. its version; "?" when it cannot run. */
    static String firstLine(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            p.waitFor(10, TimeUnit.SECONDS);
            return out.isEmpty() ? "?" : out.lines().findFirst().orElse("?");
        } catch (IOException e) {
            return "?";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }
}
