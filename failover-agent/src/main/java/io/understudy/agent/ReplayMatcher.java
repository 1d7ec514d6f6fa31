package io.understudy.agent;

/**
 * Checks that a replayed answer begins with exactly the text the client already has, and yields
 * what comes after it. Deterministic decoding makes a match common; anything else must not be
 * spliced onto the client's answer.
 */
final class ReplayMatcher {
    sealed interface Result {
    }

    /** Still inside the text already sent; nothing to forward yet. */
    record NeedMore() implements Result {
    }

    /** The replay said something else: it must not be forwarded. */
    record Diverged(int at) implements Result {
    }

    /** Past the text already sent: {@code remainder} is new text for the client (may be empty). */
    record Passed(String remainder) implements Result {
    }

    private final String sent;
    private final StringBuilder replayed = new StringBuilder();
    private boolean passed;

    ReplayMatcher(String sent) {
        this.sent = sent;
    }

    Result feed(String delta) {
        if (passed) {
            return new Passed(delta);
        }
        replayed.append(delta);
        int n = Math.min(replayed.length(), sent.length());
        for (int i = 0; i < n; i++) {
            if (replayed.charAt(i) != sent.charAt(i)) {
                return new Diverged(i);
            }
        }
        if (replayed.length() < sent.length()) {
            return new NeedMore();
        }
        passed = true;
        return new Passed(replayed.substring(sent.length()));
    }
}
