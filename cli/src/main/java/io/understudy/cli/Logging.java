package io.understudy.cli;

/** One-line log records on stderr: time, level, logger, message. */
final class Logging {
    private Logging() {
    }

    /** Operator commands print their own lines; library chatter (gRPC, Helidon) stays below WARNING. */
    static void quiet() {
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }

    static void configure() {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format",
                    "%1$tF %1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n");
        }
    }
}
