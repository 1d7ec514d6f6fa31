package io.understudy.core.provider;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webclient.api.ClientConnection;
import io.helidon.webclient.api.HttpClientRequest;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import io.helidon.webclient.api.WebClientServiceRequest;
import io.helidon.webclient.api.WebClientServiceResponse;
import io.helidon.webclient.spi.WebClientService;
import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import io.understudy.core.error.Failures;
import io.understudy.core.error.Origin;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * HTTP to one upstream over one pooled Helidon client (built once per upstream, never per request).
 * Turns transport exceptions and non-2xx answers into {@link Failure}s. Read timeouts are kept by
 * {@link ReadDeadlines}, not by the socket (see there why): a pooled connection's socket timeout is
 * only how long it may sit idle, {@link #IDLE_SPAN}.
 */
public final class HttpTransport {
    private static final Logger LOG = Logger.getLogger(HttpTransport.class.getName());
    /** Marks a re-send after the Helidon connection race; upstreams ignore it, provider-sim records it. */
    public static final HeaderName RESENT = HeaderNames.create("x-understudy-resent");

    /** Marks an error that a relay passes on from the provider behind it, so the relay is not blamed. */
    public static final HeaderName ERROR_ORIGIN = HeaderNames.create("x-understudy-error-origin");
    /** With {@link #ERROR_ORIGIN}: the provider that failed, as the relay names it, and the model it was asked for. */
    public static final HeaderName ERROR_PROVIDER = HeaderNames.create("x-understudy-error-provider");
    public static final HeaderName ERROR_MODEL = HeaderNames.create("x-understudy-error-model");
    private static final int MAX_ERROR_BODY = 64 * 1024;
    /**
     * How long a pooled connection may sit idle: its socket timeout, which Helidon's idle monitor
     * goes by (waking every 101 ms meanwhile, so not longer than it is worth keeping).
     */
    static final Duration IDLE_SPAN = Duration.ofMinutes(5);

    /**
     * Idle connections kept per upstream. Helidon hands pooled connections out first-in first-out,
     * so under steady traffic none sits idle long enough to close: a pool keeps the peak concurrency
     * it once reached (a burst, a 429 storm waited out) for good. The cap bounds that at what a
     * busy app host keeps in flight; past it, a connection is closed when its request ends.
     */
    static final int POOLED_PER_UPSTREAM = 64;

    /**
     * How long a stream that ended may take to send the rest of its answer (a [DONE] after the usage
     * chunk, the chunked terminator) before its connection is closed rather than pooled.
     */
    static final Duration FINISH_WAIT = Duration.ofMillis(500);
    private static final int FINISH_MAX_BYTES = 16 * 1024;

    private final String upstream;
    private final Origin origin;
    private final WebClient client;
    private final Clock clock;
    private final ReadDeadlines deadlines = new ReadDeadlines();
    /** The connection of the call this thread just made, for {@link #submit} to take: see {@link #rememberConnection}. */
    private final ThreadLocal<ClientConnection> lastConnection = new ThreadLocal<>();

    public HttpTransport(String upstream, Origin origin, Duration connectTimeout, Duration readTimeout, Clock clock) {
        this.upstream = upstream;
        this.origin = origin;
        this.clock = clock;
        this.client = WebClient.builder()
                .socketOptions(o -> o.tcpNoDelay(true).connectTimeout(connectTimeout).readTimeout(IDLE_SPAN))
                .followRedirects(false)
                .sendExpectContinue(false)
                .connectionCacheSize(POOLED_PER_UPSTREAM)
                // by default Helidon pools connections per host across all clients: one a health probe
                // returned carries the probe's short socket timeout as its idle span, and a request that
                // takes it as that span ends fails after it was sent (helidon#10861). Own pool only.
                .shareConnectionCache(false)
                // Helidon builds each request (headers and body) in one buffer already; its connection's
                // write buffer only copies it again, through a new array the size of its free space
                // (FixedBufferData.write): 4 KB of garbage a request, a fifth of what the agent allocated
                .writeBufferSize(0)
                .addService(this::rememberConnection)
                .build();
    }

    /**
     * Hands the connection an answer came on to the thread that asked, so a stream can read its body
     * with untimed socket reads ({@link #streamBody}). Helidon offers it to client services only.
     */
    private WebClientServiceResponse rememberConnection(WebClientService.Chain chain, WebClientServiceRequest request) {
        WebClientServiceResponse response = chain.proceed(request);
        if (response.connection() instanceof ClientConnection connection) {
            lastConnection.set(connection);
        }
        return response;
    }

    public static HttpTransport forProvider(ProviderConfig config) {
        return new HttpTransport(config.name(), Origin.PROVIDER, config.connectTimeout(), config.readTimeout(),
                Clock.systemUTC());
    }

    public String upstream() {
        return upstream;
    }

    /**
     * Sends a request and returns the response when it is 2xx. The caller must close it.
     * Anything else is read (bounded), classified and thrown.
     */
    public HttpClientResponse send(Method method, URI uri, Map<HeaderName, String> headers, byte[] body,
                                   Duration readTimeout) {
        HttpClientResponse first;
        long started = System.nanoTime();
        try {
            first = submit(method, uri, headers, body, readTimeout);
        } catch (RuntimeException e) {
            if (!idleMonitorArtefact(e, started, readTimeout)) {
                throw new FailureException(Failures.fromThrowable(origin, upstream, e));
            }
            // Helidon 4 races its idle-connection monitor against reuse (helidon#10861): a pooled
            // connection checked out just as its monitor gives up fails at once with a read
            // timeout. Deadlines (ReadDeadlines) keep that moment at IDLE_SPAN of idleness, not at
            // every read timeout, so this is rare; when it happens, retry once, fresh. The upstream
            // may have received the first send, so the re-send says so in a header and the log.
            LOG.info(() -> "re-sending to " + upstream + " once after Helidon's idle-connection race (helidon#10861);"
                    + " the upstream may have received the first send");
            try {
                Map<HeaderName, String> marked = new java.util.HashMap<>(headers);
                marked.put(RESENT, "helidon-10861");
                first = submit(method, uri, marked, body, readTimeout);
            } catch (RuntimeException again) {
                throw new FailureException(Failures.fromThrowable(origin, upstream, again));
            }
        }
        HttpClientResponse response = first;
        int status = response.status().code();
        if (status >= 200 && status < 300) {
            return response;
        }
        try (response) {
            byte[] errorBody = readBounded(response.inputStream(), MAX_ERROR_BODY);
            if (status == 503 && response.headers().first(HeaderNames.create("x-understudy-draining")).isPresent()) {
                // a relay handing leadership over: it did no work on this request
                throw new FailureException(new Failure.Unavailable(origin, upstream, Failure.UnavailableKind.MARKED_DOWN,
                        upstream + " is draining for a leadership handover"));
            }
            Optional<String> retryAfter = response.headers().first(HeaderNames.RETRY_AFTER);
            Origin blamed = response.headers().first(ERROR_ORIGIN)
                    .filter("provider"::equalsIgnoreCase).map(v -> Origin.PROVIDER).orElse(origin);
            // a provider's error passed on by a relay names that provider, when the relay says which
            String failed = blamed == origin ? upstream
                    : response.headers().first(ERROR_PROVIDER).filter(p -> !p.isBlank()).orElse(upstream);
            Failure failure = Failures.fromHttp(blamed, failed, status, retryAfter, errorBody, clock);
            Optional<String> model = response.headers().first(ERROR_MODEL).filter(m -> !m.isBlank());
            if (failure instanceof Failure.RateLimited r && blamed != origin && model.isPresent()) {
                failure = new Failure.RateLimited(r.origin(), r.upstream(), r.retryAfter(), r.message(), model);
            }
            throw new FailureException(failure);
        } catch (RuntimeException e) {
            if (e instanceof FailureException) {
                throw e;
            }
            throw new FailureException(Failures.fromThrowable(origin, upstream, e));
        }
    }

    /**
     * Sends once and returns the response whatever its status (the caller closes it): for calls
     * passed through as they are, whose errors are the upstream's answer. Nothing is re-sent, not
     * even after Helidon's idle-connection race: such calls may not be idempotent.
     */
    public HttpClientResponse exchange(Method method, URI uri, Map<HeaderName, String> headers, byte[] body,
                                       Duration readTimeout) {
        try {
            return submit(method, uri, headers, body, readTimeout);
        } catch (RuntimeException e) {
            throw new FailureException(Failures.fromThrowable(origin, upstream, e));
        }
    }

    /**
     * As {@link #exchange}, with a body written by {@code body} once the connection is open: a refused
     * connection throws before {@code body} runs, so nothing of the caller's stream is consumed and
     * another upstream can take it. The read timeout counts from when the body was written.
     */
    public HttpClientResponse exchangeStreaming(Method method, URI uri, Map<HeaderName, String> headers,
                                                io.helidon.webclient.api.ClientRequest.OutputStreamHandler body,
                                                Duration readTimeout) {
        boolean bounded = ReadDeadlines.applies();
        HttpClientRequest request = client.method(method).uri(uri).readTimeout(bounded ? socketTimeout(readTimeout) : readTimeout);
        headers.forEach(request::header);
        ReadDeadlines.Read[] wait = new ReadDeadlines.Read[1];
        HttpClientResponse response;
        try {
            response = request.outputStream(out -> {
                body.handle(out);
                if (bounded) {
                    wait[0] = deadlines.begin(readTimeout); // the upload is the client's pace; the answer is the upstream's
                }
            });
        } catch (RuntimeException e) {
            if (wait[0] != null && wait[0].end()) {
                throw new FailureException(Failures.fromThrowable(origin, upstream,
                        new java.io.UncheckedIOException(silence("no answer", readTimeout))));
            }
            throw new FailureException(Failures.fromThrowable(origin, upstream, e));
        } finally {
            lastConnection.remove(); // a pass-through's body keeps timed reads
        }
        if (wait[0] != null) {
            wait[0].end();
        }
        return bounded ? new TimedResponse(response, readTimeout, null, socketTimeout(readTimeout)) : response;
    }

    private HttpClientResponse submit(Method method, URI uri, Map<HeaderName, String> headers, byte[] body,
                                      Duration readTimeout) {
        boolean bounded = ReadDeadlines.applies();
        // a platform thread's socket read does not end when interrupted: there the socket keeps the timeout
        HttpClientRequest request = client.method(method).uri(uri).readTimeout(bounded ? socketTimeout(readTimeout) : readTimeout);
        headers.forEach(request::header);
        if (!bounded) {
            try {
                return body == null ? request.request() : request.submit(body);
            } finally {
                lastConnection.remove(); // untimed reads need the deadlines: not on a platform thread
            }
        }
        ReadDeadlines.Read wait = deadlines.begin(readTimeout);
        HttpClientResponse response;
        ClientConnection connection;
        try {
            response = body == null ? request.request() : request.submit(body);
            connection = lastConnection.get();
        } catch (RuntimeException e) {
            if (wait.end()) {
                throw new java.io.UncheckedIOException(silence("no answer", readTimeout));
            }
            throw e;
        } finally {
            lastConnection.remove();
        }
        wait.end(); // a deadline that fired as the headers arrived interrupted no read: the answer stands
        return new TimedResponse(response, readTimeout, connection, socketTimeout(readTimeout));
    }

    /** The socket's own timeout when deadlines keep the read timeout: never the one that fires first. */
    private static Duration socketTimeout(Duration readTimeout) {
        return readTimeout.compareTo(IDLE_SPAN) < 0 ? IDLE_SPAN : readTimeout.multipliedBy(2);
    }

    private java.net.SocketTimeoutException silence(String what, Duration readTimeout) {
        return new java.net.SocketTimeoutException(what + " from " + upstream + " within " + readTimeout.toMillis() + " ms");
    }

    /** A response whose body reads each wait at most the read timeout for a byte. */
    private final class TimedResponse implements HttpClientResponse {
        private final HttpClientResponse delegate;
        private final Duration readTimeout;
        /** The connection it came on (null when unknown), and the socket timeout it was asked with. */
        private final ClientConnection connection;
        private final Duration socketTimeout;
        private InputStream body;
        private volatile boolean untimed;

        TimedResponse(HttpClientResponse delegate, Duration readTimeout, ClientConnection connection, Duration socketTimeout) {
            this.delegate = delegate;
            this.readTimeout = readTimeout;
            this.connection = connection;
            this.socketTimeout = socketTimeout;
        }

        /** From now on its socket reads wait untimed; the deadlines still bound each one. */
        void untimedSocketReads() {
            if (connection != null && setSocketTimeout(Duration.ZERO)) {
                untimed = true;
            }
        }

        /**
         * Back to the socket timeout it was asked with, before the read that may reach the end of
         * the entity: that read gives the connection back to the pool, whose idle monitor takes the
         * socket timeout as its idle span, and with none it would give the connection up after 101 ms.
         */
        void timedSocketReads() {
            if (untimed) {
                untimed = false;
                setSocketTimeout(socketTimeout);
            }
        }

        private boolean setSocketTimeout(Duration timeout) {
            try {
                connection.readTimeout(timeout);
                return true;
            } catch (RuntimeException e) {
                return false; // closed under us (an abort): nothing reads it any more
            }
        }

        @Override
        public io.helidon.http.media.ReadableEntity entity() {
            return delegate.entity();
        }

        @Override
        public InputStream inputStream() {
            if (body == null) {
                body = new TimedInput(this, delegate.inputStream());
            }
            return body;
        }

        @Override
        public io.helidon.http.Status status() {
            return delegate.status();
        }

        @Override
        public io.helidon.http.ClientResponseHeaders headers() {
            return delegate.headers();
        }

        @Override
        public io.helidon.http.ClientResponseTrailers trailers() {
            return delegate.trailers();
        }

        @Override
        public io.helidon.webclient.api.ClientUri lastEndpointUri() {
            return delegate.lastEndpointUri();
        }

        @Override
        public void close() {
            delegate.close();
        }

        /** Reads and drops the rest of the entity, giving up after {@code within} or {@code maxBytes}. */
        void readToEnd(Duration within, int maxBytes) {
            ((TimedInput) inputStream()).readToEnd(within, maxBytes);
        }
    }

    private final class TimedInput extends InputStream {
        private final TimedResponse response;
        private final InputStream in;

        TimedInput(TimedResponse response, InputStream in) {
            this.response = response;
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            ReadDeadlines.Read wait = deadlines.begin(response.readTimeout);
            try {
                int n = in.read(b, off, len);
                wait.end();
                if (n < 0) {
                    // an end no event announced: the connection went back to the pool in that read, so
                    // give it its idle span at once (its idle monitor reads it as it starts)
                    response.timedSocketReads();
                }
                return n;
            } catch (IOException | RuntimeException e) {
                if (wait.end()) {
                    throw silence("silence", response.readTimeout);
                }
                throw e;
            }
        }

        @Override
        public int available() throws IOException {
            return in.available();
        }

        void readToEnd(Duration within, int maxBytes) {
            byte[] scratch = new byte[512];
            int total = 0;
            ReadDeadlines.Read wait = deadlines.begin(within);
            try {
                for (int n = in.read(scratch); n >= 0 && total <= maxBytes; n = in.read(scratch)) {
                    total += n;
                }
            } catch (IOException | RuntimeException e) {
                // not ended in time or broken: closing drops the connection instead of pooling it
            } finally {
                wait.end();
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** A "read timeout" raised in well under the read timeout: the stale pooled connection, not the peer. */
    static boolean idleMonitorArtefact(RuntimeException e, long startedNanos, Duration readTimeout) {
        if (Thread.currentThread().isInterrupted()) {
            return false;
        }
        long elapsedMillis = (System.nanoTime() - startedNanos) / 1_000_000;
        if (elapsedMillis >= readTimeout.toMillis() / 2) {
            return false;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** Reads a whole body, failing cleanly when the upstream breaks off or exceeds {@code max}. */
    public byte[] readBody(HttpClientResponse response, int max) {
        try {
            java.util.OptionalLong declared = response.headers().contentLength();
            if (declared.isPresent() && declared.getAsLong() <= max) {
                // into an array of the declared size: readNBytes(limit) goes through a 16 KB scratch buffer per answer
                byte[] bytes = new byte[(int) declared.getAsLong()];
                int read = response.inputStream().readNBytes(bytes, 0, bytes.length);
                if (read < bytes.length) {
                    throw Failures.brokenStream(origin, upstream, "answer ended after " + read + " of its " + bytes.length + " bytes");
                }
                // read to its end: only an entity read to the end gives its connection back to the pool
                // (regression test: HttpTransportTest.aBurstLeavesAtMostThePoolCapOfConnectionsInUse)
                if (response.inputStream().read() != -1) {
                    throw Failures.brokenStream(origin, upstream, "answer longer than its Content-Length");
                }
                return bytes;
            }
            byte[] bytes = readBounded(response.inputStream(), max + 1);
            if (bytes.length > max) {
                throw Failures.brokenStream(origin, upstream, "answer larger than " + max + " bytes");
            }
            return bytes;
        } catch (RuntimeException e) {
            if (e instanceof FailureException) {
                throw e;
            }
            throw new FailureException(Failures.fromThrowable(origin, upstream, e));
        } catch (IOException e) {
            throw new FailureException(Failures.fromThrowable(origin, upstream, e));
        }
    }

    /**
     * A stream's body, read with untimed socket reads until {@link #closeStream} (the deadlines bound
     * each read all the same). A timed read parks its virtual thread on a timer, and the JDK wakes its
     * one timer thread to file and again to cancel each one: per chunk of every stream (measured on
     * the agent at 300 streams/s: a third of its context switches; reading untimed saved 15% of its CPU per stream).
     */
    public InputStream streamBody(HttpClientResponse response) {
        if (response instanceof TimedResponse timed) {
            timed.untimedSocketReads();
        }
        return response.inputStream();
    }

    /**
     * The answer of a stream is complete (its finish came): what is left (usage, [DONE], the end of
     * the entity) is read with timed socket reads, so an upstream that ends it without [DONE] still
     * leaves its connection in the pool with its idle span.
     */
    public void streamEnding(HttpClientResponse response) {
        if (response instanceof TimedResponse timed) {
            timed.timedSocketReads();
        }
    }

    /**
     * Closes a stream's answer. One that {@code ended} is first read to the end of its entity: only
     * an entity read to its end gives its connection back to the pool, and a connection opened per
     * stream costs both hops more CPU than the stream itself. An upstream that sends more than a few
     * bytes after its end, or takes longer than {@link #FINISH_WAIT} to end, loses its connection instead.
     */
    public void closeStream(HttpClientResponse response, boolean ended) {
        if (ended && response instanceof TimedResponse timed && ReadDeadlines.applies()) {
            timed.timedSocketReads();
            timed.readToEnd(FINISH_WAIT, FINISH_MAX_BYTES);
        }
        try {
            response.close();
        } catch (RuntimeException ignored) {
            // closing a broken connection may throw; it is closed either way
        }
    }

    /** The {@code x-understudy-*} headers of an answer, lower-case names. */
    public static Map<String, String> understudyHeaders(HttpClientResponse response) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (io.helidon.http.Header header : response.headers()) {
            String name = header.name().toLowerCase(java.util.Locale.ROOT);
            if (name.startsWith("x-understudy-")) {
                out.put(name, header.get());
            }
        }
        return out;
    }

    public Origin origin() {
        return origin;
    }

    public Clock clock() {
        return clock;
    }

    private static byte[] readBounded(InputStream in, int max) {
        try {
            return in.readNBytes(max);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
