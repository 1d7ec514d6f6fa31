package io.understudy.cli;

/** A problem the user can fix (busy port, missing file); printed as one line, exit code 2. */
final class UserError extends RuntimeException {
    UserError(String message) {
        super(message, null, false, false);
    }
}
