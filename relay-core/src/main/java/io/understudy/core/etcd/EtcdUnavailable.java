package io.understudy.core.etcd;

/** etcd could not be reached or did not answer in time, whichever client asked. */
public final class EtcdUnavailable extends RuntimeException {
    public EtcdUnavailable(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
