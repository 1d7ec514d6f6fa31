package io.understudy.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A process's log file, for failure messages. */
public final class Logs {
    private Logs() {
    }

    /** The last {@code count} lines of {@code log}, or a note that there is none. */
    public static String tail(Path log, int count) {
        try {
            List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - count), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }
}
