package io.understudy.bench;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A system under test, set up as primary + backup in front of provider-sim the way its own
 * documentation recommends for failover. The baseline (provider-sim called directly) is one too.
 */
interface Contender {
    String name();

    /** Why it cannot run on this machine (e.g. the installer's error); empty when it can. */
    Optional<String> unavailable();

    /** What exactly runs, e.g. "nginx 1.22.1". */
    String version();

    /** Whether it has a primary to kill or blackhole (the baseline has not). */
    default boolean failsOver() {
        return true;
    }

    /** Starts it on {@code stage} and waits until it answers a request. */
    Deployment deploy(Stage stage) throws Exception;

    /**
     * Waits, at most {@code within}, until what it does once after starting is over, as it is on a
     * system up for a minute before its primary fails. Empty when it is, else why not.
     */
    default Optional<String> settle(Stage stage, java.time.Duration within) throws InterruptedException {
        return Optional.empty();
    }

    /**
     * One running deployment: where requests go (and extra headers they need), the process that is
     * "the primary" for the failover runs, the processes that make up the system itself (for CPU and
     * memory), its configuration files as written, and, where the system says which upstream served
     * a request, the one that serves in the steady state.
     */
    record Deployment(String baseUrl, Map<String, String> headers, Optional<ProcessHandle> primary,
                      List<ProcessHandle> processes, Map<String, String> configs, Optional<String> steadyUpstream) {
        Deployment(String baseUrl, Map<String, String> headers, Optional<ProcessHandle> primary, List<ProcessHandle> processes,
                   Map<String, String> configs) {
            this(baseUrl, headers, primary, processes, configs, Optional.empty());
        }
    }
}
