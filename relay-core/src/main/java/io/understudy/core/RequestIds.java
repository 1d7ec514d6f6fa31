package io.understudy.core;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Request ids ({@code req_} and 24 hex digits): unguessable, as receipts are looked up by them. */
public final class RequestIds {
    private static final SecureRandom RANDOM = new SecureRandom();

    private RequestIds() {
    }

    public static String next() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return "req_" + HexFormat.of().formatHex(bytes);
    }
}
