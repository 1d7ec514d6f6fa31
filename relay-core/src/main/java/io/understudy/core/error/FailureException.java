package io.understudy.core.error;

/** Carries a {@link Failure} through code that must throw. No stack trace: it is an outcome, not a bug. */
public final class FailureException extends RuntimeException {
    private final transient Failure failure;

    public FailureException(Failure failure) {
        super(failure.message(), null, false, false);
        this.failure = failure;
    }

    public Failure failure() {
        return failure;
    }
}
