package io.understudy.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The AOT cache's training run: one rehearsal of every request path, over real loopback sockets, then exit. */
class RehearseCommandTest {
    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void aRehearsalServesEveryRequestKindAndEnds() {
        Run r = run("rehearse", "--seconds", "3");
        assertEquals(0, r.exit(), r.err());
        Matcher m = Pattern.compile("^rehearsed (\\d+) requests in (\\d+) ms \\((.+)\\)\\s*$").matcher(r.out());
        assertTrue(m.matches(), "one line saying what it did: " + r.out());
        assertTrue(Integer.parseInt(m.group(1)) >= 7, "at least one round of the seven request kinds: " + r.out());
        assertTrue(Long.parseLong(m.group(2)) < 15_000, "bounded by --seconds, plus a round in flight: " + r.out());
    }

    @Test
    void aBadBoundIsAOneLineUsageError() {
        Run r = run("rehearse", "--seconds", "0");
        assertEquals(2, r.exit());
        assertEquals("understudy: --seconds must be at least 1, got 0", r.err().strip());
    }
}
