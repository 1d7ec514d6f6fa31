package io.understudy.sim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;

/** Every request the simulator received, newest last, bounded so a long run cannot exhaust memory. */
public final class AttemptLog {
    /**
     * One received request. {@code tag} is the caller's {@code x-sim-tag} header, if any; {@code via}
     * is its Host header, which tells apart callers that reach the simulator through different proxies;
     * {@code resent} marks a caller's re-send after a connection race it could not rule out.
     * {@code bodyDigest} is the SHA-256 of the request body as received, its model removed (null
     * when not recorded): two calls with the same digest sent the provider the same request.
     */
    public record Attempt(long seq, long epochMillis, String api, String model, String mode, boolean stream,
                          String outcome, String tag, String via, boolean resent, String bodyDigest) {
    }

    private final Clock clock;
    private final int capacity;
    private final Deque<Attempt> attempts = new ArrayDeque<>();
    private long seq;

    public AttemptLog(Clock clock, int capacity) {
        this.clock = clock;
        this.capacity = capacity;
    }

    public Attempt record(String api, String model, FaultMode mode, boolean stream, String outcome, String tag,
                          String via, boolean resent) {
        return record(api, model, mode, stream, outcome, tag, via, resent, null);
    }

    public synchronized Attempt record(String api, String model, FaultMode mode, boolean stream, String outcome, String tag,
                                       String via, boolean resent, String bodyDigest) {
        Attempt a = new Attempt(++seq, clock.millis(), api, model, mode.wireName(), stream, outcome, tag, via, resent,
                bodyDigest);
        attempts.addLast(a);
        if (attempts.size() > capacity) {
            attempts.removeFirst();
        }
        return a;
    }

    /** The attempts still held, oldest first. */
    public synchronized java.util.List<Attempt> list() {
        return java.util.List.copyOf(attempts);
    }

    public synchronized void clear() {
        attempts.clear();
    }

    public synchronized ObjectNode toJson() {
        ObjectNode root = Json.object();
        root.put("total", seq);
        ArrayNode list = root.putArray("attempts");
        for (Attempt a : attempts) {
            ObjectNode o = list.addObject();
            o.put("seq", a.seq());
            o.put("time_ms", a.epochMillis());
            o.put("api", a.api());
            o.put("model", a.model());
            o.put("mode", a.mode());
            o.put("stream", a.stream());
            o.put("outcome", a.outcome());
            o.put("via", a.via());
            o.put("resent", a.resent());
            if (a.bodyDigest() != null) {
                o.put("body_sha256", a.bodyDigest());
            }
            if (a.tag() != null) {
                o.put("tag", a.tag());
            } else {
                o.putNull("tag");
            }
        }
        return root;
    }
}
