package io.understudy.sim;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * How the simulator misbehaves for one request. Chosen by the model name ({@code sim-<mode>})
 * or by the {@code x-sim-fault} header, which wins.
 */
public enum FaultMode {
    /** Healthy, deterministic answer. */
    NONE("none"),
    /** 429 with {@code Retry-After} (seconds from {@code x-sim-retry-after}, default 1). */
    RATE_LIMIT_RETRY_AFTER("429-retry-after"),
    /** 429 with no {@code Retry-After}. */
    RATE_LIMIT("429"),
    /** 500 the first time a request is seen (same messages or same {@code x-sim-key}), healthy after. */
    ERROR_500_ONCE("500-once"),
    /** 503 on every request. */
    UNAVAILABLE_503("503"),
    /** TCP reset after reading the request, before any header. */
    RESET("reset"),
    /** Accepts the request and never answers. */
    BLACKHOLE("blackhole"),
    /** First token after {@code x-sim-ttft-ms} (default: the configured slow first token, 5 s). */
    SLOW_FIRST_TOKEN("slow-first-token"),
    /** Stream cut after N tokens ({@code x-sim-cut-after}, default 3), no terminating chunk. */
    CUT("cut"),
    /** Stream stops after N tokens and the connection stays open, silent. */
    STALL("stall"),
    /** A malformed chunk after N tokens, then the rest of the stream. */
    MALFORMED_CHUNK("malformed"),
    /** A complete stream without the final {@code [DONE]} (Anthropic: without message_stop). */
    NO_DONE("no-done"),
    /** 400 context_length_exceeded. */
    CONTEXT_LENGTH("context-length"),
    /** 400 content-policy rejection. */
    CONTENT_POLICY("content-policy"),
    /** 400 when the conversation ends with an assistant message (prefill); healthy otherwise. */
    PREFILL_REJECTED("prefill-rejected");

    private final String wireName;

    FaultMode(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<FaultMode> parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(m -> m.wireName.equals(n)).findFirst();
    }

    /** The mode a model name asks for: {@code sim-429-retry-after} -> RATE_LIMIT_RETRY_AFTER. */
    public static FaultMode fromModel(String model) {
        if (model != null && model.startsWith("sim-")) {
            return parse(model.substring(4)).orElse(NONE);
        }
        return NONE;
    }
}
