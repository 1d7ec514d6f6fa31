package io.understudy.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness itself at a tiny scale (bin/bench --quick): real processes, real Toxiproxy, real load.
 * The numbers mean nothing here; what is checked is that every part runs and lands in the results.
 */
class BenchSmokeTest {
    @Test
    void quickRunMeasuresEverySectionAndReportsAMissingPeerWithItsError(@TempDir Path root) throws Exception {
        // a checkout whose LiteLLM install failed: bin/bench leaves the installer's error here
        Files.createDirectories(root.resolve(".understudy/tools"));
        Files.writeString(root.resolve(".understudy/tools/litellm.install-error"), "pip install litellm failed: no network (test)\n");
        Path out = root.resolve("results");

        Path file = BenchMain.run(new String[]{"--quick", "--only", "baseline,understudy agent -> relay,litellm", out.toString()}, root);

        String md = Files.readString(file);
        assertTrue(md.contains("| LiteLLM | - | **not installed**: pip install litellm failed: no network (test) |"), md);
        assertTrue(md.contains("| Understudy agent -> relay | Understudy "), md);
        // every section measured the two systems that can run, with real answers
        for (String section : new String[]{"## 1. Overhead", "## 3. Streaming", "### Primary SIGKILLed", "### Primary blackholed", "## 5. Resources"}) {
            String part = md.substring(md.indexOf(section));
            assertTrue(part.contains("| Understudy agent -> relay | "), section + " has no row for the full path:\n" + md);
        }
        assertFalse(md.contains("partly:"), "a part of the run failed:\n" + md);
        assertTrue(md.contains("| baseline (provider-sim direct) | 100 | 100 | 0 |"), "the baseline answered every request:\n" + md);
        // the charts and the configs used are written next to the results file
        Path dir = out.resolve(file.getFileName().toString().replace(".md", ""));
        assertTrue(Files.isRegularFile(dir.resolve("failover-kill.svg")));
        assertTrue(Files.isRegularFile(dir.resolve("failover-blackhole.svg")));
        assertTrue(Files.isRegularFile(dir.resolve("latency.svg")));
        assertTrue(Files.readString(dir.resolve("configs/understudy-agent-relay/agent.yaml")).contains("primary-1"));
    }

    @Test
    void failoverOnlyRunsTheFailoverSectionAlone(@TempDir Path root) throws Exception {
        Path file = BenchMain.run(new String[]{"--quick", "--failover-only", "--only", "understudy agent ->",
                root.resolve("results").toString()}, root);

        String md = Files.readString(file);
        for (String section : new String[]{"### Primary SIGKILLed", "### Primary blackholed"}) {
            String part = md.substring(md.indexOf(section));
            assertTrue(part.contains("| Understudy agent -> relay | "), section + " has no row for the full path:\n" + md);
            String row = part.substring(part.indexOf("| Understudy agent -> relay | "), part.indexOf('\n', part.indexOf("| Understudy agent -> relay | ")));
            assertTrue(row.matches(".*\\| [1-9]\\d*% / \\d+% -> [1-9]\\d*% / \\d+% \\|$"),
                    section + ": the CPU in the 2 s before and after the fault, of the machine (busy) and of the system: " + row);
        }
        String overhead = md.substring(md.indexOf("## 1. Overhead"), md.indexOf("## 2."));
        assertTrue(overhead.contains("| Understudy agent -> relay | 100 | - | - | - | - | - | - | not run |"),
                "overhead was measured too, or not said to be skipped:\n" + md);
        assertFalse(md.contains("partly:"), "a part of the run failed:\n" + md);
    }

    @Test
    void badArgumentsAreRefusedWithAReason(@TempDir Path root) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchMain.run(new String[]{"--only", "squid"}, root));
        assertTrue(e.getMessage().contains("matched no system"), e.getMessage());
        assertEquals("unknown option --fast (use --quick, --only a,b, --failover-only, --cli, and an output directory)",
                assertThrows(IllegalArgumentException.class, () -> BenchMain.run(new String[]{"--fast"}, root)).getMessage());
    }
}
