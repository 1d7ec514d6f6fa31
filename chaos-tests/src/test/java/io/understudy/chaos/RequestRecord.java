package io.understudy.chaos;

/**
 * One request as the app saw it. Times are milliseconds since the load started.
 *
 * @param ttftMs   time to the first content token (streams) or to the whole answer; -1 when none came
 * @param tier     the agent tier that served it ({@code x-understudy-tier}), "-" when none
 * @param epoch    the leader epoch the serving relay stamped, 0 when none
 * @param attempts provider calls provider-sim saw for this request (filled in after the run)
 */
record RequestRecord(long seq, String model, boolean stream, long startMs, long endMs, long ttftMs, int status,
                     String tier, String upstream, long epoch, Outcome outcome, String detail, int attempts) {

    /** How a request ended, judged against the deterministic answer it should have had. */
    enum Outcome {
        /** The full expected answer (streams: ending with [DONE]). */
        COMPLETE,
        /** An error the client can see and act on: an HTTP error with a JSON body, or an in-band error event. */
        CLEAN_ERROR,
        /** Presented as a success but not the full expected answer (short, wrong, or a stream ending without [DONE]). */
        TRUNCATED,
        /** No end within the client's bound. */
        HUNG,
        /** The connection to the agent failed with no error the client could read. */
        BROKEN;

        boolean acceptable() {
            return this == COMPLETE || this == CLEAN_ERROR;
        }
    }

    long latencyMs() {
        return endMs - startMs;
    }

    RequestRecord withAttempts(int n) {
        return new RequestRecord(seq, model, stream, startMs, endMs, ttftMs, status, tier, upstream, epoch, outcome, detail, n);
    }

    @Override
    public String toString() {
        return "#" + seq + (stream ? " stream" : " plain") + " @" + startMs + "ms+" + latencyMs() + "ms " + outcome
                + " status=" + status + " tier=" + tier + " upstream=" + upstream + " epoch=" + epoch
                + " attempts=" + attempts + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
