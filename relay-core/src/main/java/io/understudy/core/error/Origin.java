package io.understudy.core.error;

/** Who a failure comes from: this process, a relay in front of us, or the provider behind it. */
public enum Origin {
    LOCAL, RELAY, PROVIDER;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
