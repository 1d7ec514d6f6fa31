package io.understudy.agent;

import io.understudy.core.failover.UpstreamCircuits;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Failures;
import io.understudy.core.provider.ChatCompletion;
import io.understudy.core.provider.ChatStream;
import io.understudy.core.provider.Embeddings;
import io.understudy.core.wire.Conversation;
import io.understudy.core.wire.EmbeddingsRequest;
import io.understudy.core.wire.StreamChunk;

import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One attempt against one upstream, on its own virtual thread. The request thread reads its
 * {@link Event}s with deadlines (time to first token, whole answer) and can abort it at any moment:
 * the upstream call is interrupted and its connection closed (measured: about 1 ms).
 *
 * <p>A stream changes hands at its first chunk: from then on the request thread reads it itself
 * ({@link #next}), and this thread only watches it ({@link Watch}: idle gaps, pace, its upstream's
 * verdict), waking a few times a second, so a chunk no longer wakes a second thread (measured on a
 * 17-chunk stream: 63 context switches instead of 70, and 8% less CPU).
 */
final class AttemptWorker {
    sealed interface Event {
    }

    record Completed(ChatCompletion completion) implements Event {
    }

    record Embedded(Embeddings embeddings) implements Event {
    }

    record First(StreamChunk chunk, Map<String, String> upstreamHeaders) implements Event {
    }

    record Chunk(StreamChunk chunk) implements Event {
    }

    record End() implements Event {
    }

    record Failed(Failure failure) implements Event {
    }

    /**
     * Watches a stream its request thread reads, on the attempt's own thread: returns when the
     * stream is read to its end or the attempt is aborted (the watch may abort it itself).
     */
    @FunctionalInterface
    interface Watch {
        void watch(AttemptWorker worker);
    }

    private static final int RUNNING = 0;
    private static final int COMMITTED = 1;
    private static final int ABORTED = 2;

    private final Upstream upstream;
    /** The upstream's adapter as this request calls it (with the request's own headers, if any). */
    private final io.understudy.core.provider.Provider provider;
    private final Conversation chat;
    private final EmbeddingsRequest embeddings;
    private final Watch watch;
    private final BlockingQueue<Event> events = new ArrayBlockingQueue<>(64);
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final long startNanos = System.nanoTime();
    private volatile Thread thread;
    private volatile ChatStream stream;
    private volatile long lastEventNanos = startNanos;
    /** A committed stream's pace: its gaps between chunks so far, and the longest (written by its thread only). */
    private volatile int gaps;
    private volatile long longestGapNanos;
    /** The request thread read the stream to its end (or its failure): the watch is over. */
    private volatile boolean readingDone;

    private AttemptWorker(Upstream upstream, io.understudy.core.provider.Provider provider, Conversation chat,
                          EmbeddingsRequest embeddings, Watch watch) {
        this.upstream = upstream;
        this.provider = provider;
        this.chat = chat;
        this.embeddings = embeddings;
        this.watch = watch;
    }

    /** A whole answer: its one event is {@link Completed} or {@link Failed}. */
    static AttemptWorker chat(Upstream upstream, io.understudy.core.provider.Provider provider, Conversation request) {
        if (request.stream()) {
            throw new IllegalArgumentException("a stream needs a watch: AttemptWorker.stream");
        }
        return new AttemptWorker(upstream, provider, request, null, null).start();
    }

    /**
     * A stream: its first event is {@link First} or {@link Failed}; after a first chunk the request
     * thread reads the rest with {@link #next} while {@code watch} runs on this attempt's thread.
     */
    static AttemptWorker stream(Upstream upstream, io.understudy.core.provider.Provider provider, Conversation request,
                                Watch watch) {
        if (!request.stream()) {
            throw new IllegalArgumentException("not a stream: AttemptWorker.chat");
        }
        return new AttemptWorker(upstream, provider, request, null, watch).start();
    }

    static AttemptWorker embeddings(Upstream upstream, io.understudy.core.provider.Provider provider, EmbeddingsRequest request) {
        return new AttemptWorker(upstream, provider, null, request, null).start();
    }

    private AttemptWorker start() {
        upstream.started(this);
        thread = Thread.ofVirtual().name("attempt-" + upstream.name()).start(this::run);
        return this;
    }

    Upstream upstream() {
        return upstream;
    }

    long elapsedMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** Nanos since the upstream last said anything (a committed stream that is silent this long is stalled). */
    long silentNanos() {
        return System.nanoTime() - lastEventNanos;
    }

    /**
     * Aborts a committed stream that has heard nothing from its upstream for at least {@code millis},
     * or is overdue (the "marked down: resume streams that went silent with it" path); the request
     * thread then resumes it. True when it aborted.
     */
    boolean abortIfSilentFor(long millis, Failure reason) {
        if (state.get() == COMMITTED && (overdue() || silentNanos() >= TimeUnit.MILLISECONDS.toNanos(millis))
                && state.compareAndSet(COMMITTED, ABORTED)) {
            stop(reason);
            return true;
        }
        return false;
    }

    /** A committed stream silent well past its own pace (see {@link InstanceHealth#streamOverdue}). */
    boolean overdue() {
        return state.get() == COMMITTED && InstanceHealth.streamOverdue(silentNanos(), longestGapNanos, gaps);
    }

    /**
     * Nanos until this stream becomes overdue if it stays silent: 0 when it is already, and
     * {@code Long.MAX_VALUE} when it has not shown its pace yet.
     */
    long nanosUntilOverdue() {
        long after = InstanceHealth.overdueAfterNanos(longestGapNanos, gaps);
        return after == Long.MAX_VALUE ? after : Math.max(0, after - silentNanos());
    }

    private void run() {
        try {
            if (embeddings != null) {
                emit(new Embedded(provider.embed(embeddings)));
            } else if (!chat.stream()) {
                emit(new Completed(provider.complete(chat)));
            } else {
                ChatStream s = provider.stream(chat);
                stream = s;
                if (state.get() == ABORTED) {
                    return;
                }
                StreamChunk first = s.next();
                if (first == null) {
                    throw Failures.brokenStream(failureOrigin(), upstream.name(), "stream ended before its first chunk");
                }
                emit(new First(first, s.upstreamHeaders()));
                // the request thread reads the rest; this thread watches until it is read or aborted
                watch.watch(this);
            }
        } catch (FailureException e) {
            emit(new Failed(e.failure()));
        } catch (RuntimeException e) {
            if (state.get() != ABORTED) {
                emit(new Failed(Failures.fromThrowable(failureOrigin(), upstream.name(), e)));
            }
        } finally {
            closeStream();
            upstream.finished(this);
        }
    }

    /**
     * The stream's next event after its first chunk, read on the calling (request) thread:
     * {@link Chunk}, {@link End}, or {@link Failed} (also the reason it was aborted, when it was).
     */
    Event next() {
        if (state.get() == ABORTED) {
            return abortReason();
        }
        Event event;
        try {
            StreamChunk chunk = stream.next();
            event = chunk == null ? new End() : new Chunk(chunk);
        } catch (FailureException e) {
            event = new Failed(e.failure());
        } catch (RuntimeException e) {
            event = new Failed(Failures.fromThrowable(failureOrigin(), upstream.name(), e));
        }
        if (state.get() == ABORTED) {
            return abortReason(); // its reader saw the closed connection; the reason is the abort's
        }
        heard(event);
        if (!(event instanceof Chunk)) {
            readingDone = true;
            LockSupport.unpark(thread);
        }
        return event;
    }

    /** True while a handed-over stream is being read and the attempt was not aborted. */
    boolean watching() {
        return !readingDone && state.get() != ABORTED;
    }

    /** The watch's pause: until {@code nanos} pass, the stream is read to its end, or the attempt is aborted. */
    void pauseWatch(long nanos) {
        if (nanos > 0 && watching()) {
            LockSupport.parkNanos(this, nanos);
        }
    }

    private Event abortReason() {
        Event queued = events.poll();
        if (queued instanceof Failed f) {
            return f;
        }
        return new Failed(new Failure.Unavailable(failureOrigin(), upstream.name(), Failure.UnavailableKind.RESET, "aborted"));
    }

    private io.understudy.core.error.Origin failureOrigin() {
        return upstream.kind() == UpstreamCircuits.Kind.RELAY ? io.understudy.core.error.Origin.RELAY
                : io.understudy.core.error.Origin.PROVIDER;
    }

    /** Its upstream said something: the stream's pace, and what its health needs to tell busy from dead. */
    private void heard(Event event) {
        if (event instanceof Failed f && f.failure() instanceof Failure.Unavailable) {
            return;
        }
        long now = System.nanoTime();
        if (event instanceof Chunk) {
            long gap = now - lastEventNanos;
            if (gap > longestGapNanos) {
                longestGapNanos = gap;
            }
            gaps++; // one writer at a time: this thread until the first chunk, the request thread after
        }
        lastEventNanos = now;
        upstream.answered();
    }

    private void emit(Event event) {
        if (state.get() == ABORTED) {
            return;
        }
        heard(event);
        try {
            events.put(event);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The next event, or null when none came within the timeout. */
    Event poll(long timeoutNanos) throws InterruptedException {
        return events.poll(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
    }

    /**
     * Claims this attempt for the client: from now on it is not re-issued elsewhere when its
     * upstream is marked down. False when it was aborted first.
     */
    boolean commit() {
        return state.compareAndSet(RUNNING, COMMITTED);
    }

    /** Aborts unless committed (the "marked down: re-issue elsewhere" path). True when it aborted. */
    boolean abortIfUncommitted(Failure reason) {
        if (state.compareAndSet(RUNNING, ABORTED)) {
            stop(reason);
            return true;
        }
        return false;
    }

    /** Aborts whatever its state (timeouts, client gone, stalled after commit). */
    void abort(Failure reason) {
        if (state.getAndSet(ABORTED) != ABORTED) {
            stop(reason);
        }
    }

    private void stop(Failure reason) {
        events.clear();
        events.offer(new Failed(reason));
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
        closeStream();
    }

    private void closeStream() {
        ChatStream s = stream;
        if (s != null) {
            s.close();
        }
    }
}
