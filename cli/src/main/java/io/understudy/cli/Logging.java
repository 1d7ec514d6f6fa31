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
        io.understudy.core.LogFormat.oneLine();
    }
}
