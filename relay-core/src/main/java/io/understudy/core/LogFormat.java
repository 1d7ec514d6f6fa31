package io.understudy.core;

/** The log line every Understudy process writes: one line, to the millisecond, so failovers can be timed from logs. */
public final class LogFormat {
    private LogFormat() {
    }

    /** Sets java.util.logging's one-line format unless the operator chose one; call first thing in main. */
    public static void oneLine() {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format",
                    "%1$tF %1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n");
        }
    }
}
