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

/**
 * One attempt against one upstream, on its own virtual thread. The request thread reads its
 * {@link Event}s with deadlines (time to first token, whole answer) and can abort it at any moment:
 * the upstream call is interrupted and its connection closed (measured: about 1 ms).
 *
 * <p>A stream changes hands at its first chunk: from then on the request thread reads it itself
 * ({@link #next}), so a chunk wakes one thread, not two (measured on a 17-chunk stream: 63 context
 * switches instead of 70, and 8% less CPU); this thread hands the stream to its {@link Watch} (idle
 * gaps, pace, its upstream's verdict: {@link StreamWatcher}) and ends. The stream is then closed, and
 * its upstream told the attempt is over, by whichever comes first: its reader reaching the end or a
 * failure, or an abort.
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
     * Starts watching a stream its request thread reads, and returns at once; the watch may abort
     * it, and stops once {@link #watching} is false.
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
    /** Its first chunk went to the request thread: from then on the reader or an abort ends the attempt. */
    private volatile boolean handedOver;
    private final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();

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
                handedOver = true; // before the reader can see it: from here the reader or an abort ends it
                emit(new First(first, s.upstreamHeaders()));
                watch.watch(this);
            }
        } catch (FailureException e) {
            emit(new Failed(e.failure()));
        } catch (RuntimeException e) {
            if (state.get() != ABORTED) {
                emit(new Failed(Failures.fromThrowable(failureOrigin(), upstream.name(), e)));
            }
        } finally {
            if (!handedOver || state.get() == ABORTED) { // aborted as it handed over: no reader will end it
                end();
            }
        }
    }

    /** Closes the stream and tells the upstream this attempt is over: once, whoever ends it. */
    private void end() {
        if (ended.compareAndSet(false, true)) {
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
            end();
        }
        return event;
    }

    /** True while a handed-over stream is being read and the attempt was not aborted. */
    boolean watching() {
        return !readingDone && state.get() != ABORTED;
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
        if (handedOver) {
            end(); // its own thread has ended; the reader may never ask again
        } else {
            closeStream(); // its own thread ends the attempt as it leaves
        }
    }

    private void closeStream() {
        ChatStream s = stream;
        if (s != null) {
            s.close();
        }
    }
}
