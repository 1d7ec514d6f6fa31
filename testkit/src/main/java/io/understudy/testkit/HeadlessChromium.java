package io.understudy.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real Chromium (Debian's {@code chromium}, which bin/test installs), headless, driven over the
 * DevTools protocol on a loopback WebSocket: open a page, evaluate JavaScript in it, take a
 * screenshot. The JDK's WebSocket client is all it needs, so no browser-driver library is pulled in.
 * One page per instance; {@link #close()} stops the browser and removes its profile directory.
 */
public final class HeadlessChromium implements AutoCloseable {
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    /** The binary: {@code UNDERSTUDY_CHROMIUM} when set, else Debian's {@code /usr/bin/chromium}. */
    public static Path binary() {
        return Path.of(System.getenv().getOrDefault("UNDERSTUDY_CHROMIUM", "/usr/bin/chromium"));
    }

    public HeadlessChromium() throws IOException {
        Path bin = binary();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("no Chromium at " + bin + ": bin/test installs Debian's chromium; "
                    + "or set UNDERSTUDY_CHROMIUM");
        }
        profile = Files.createTempDirectory("understudy-chromium");
        Path log = profile.resolve("chromium.log");
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        ProcessBuilder chromium = new ProcessBuilder(bin.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                "--window-size=1280,900", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "--user-data-dir=" + profile, "about:blank")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        // its singleton socket directory goes under TMPDIR: inside the profile, it is deleted with it
        chromium.environment().put("TMPDIR", profile.toString());
        process = chromium.start();
        try {
            // Chromium writes the port it picked (and the browser's path) here once it listens
            Path portFile = profile.resolve("DevToolsActivePort");
            String port = Await.value("Chromium's DevTools port", Duration.ofSeconds(20), () -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("Chromium exited: " + Logs.tail(log, 10));
                }
                try {
                    return Files.exists(portFile) ? Files.readAllLines(portFile).stream().findFirst().filter(s -> !s.isBlank()).orElse(null) : null;
                } catch (IOException e) {
                    return null;
                }
            });
            HttpClient http = HttpClient.newHttpClient();
            String pageSocket = Await.value("Chromium's first page", Duration.ofSeconds(10), () -> {
                for (JsonNode target : parse(get(http, "http://127.0.0.1:" + port + "/json/list"))) {
                    if (target.path("type").asText().equals("page")) {
                        return target.path("webSocketDebuggerUrl").asText();
                    }
                }
                return null;
            });
            socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(URI.create(pageSocket), new Replies()).get(10, TimeUnit.SECONDS);
            call("Page.enable", Json.object());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("interrupted while starting Chromium", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            close();
            throw new IllegalStateException("could not drive Chromium: " + e.getMessage(), e);
        }
    }

    /** Opens {@code url} and returns once its document has loaded. */
    public void open(String url) {
        call("Page.navigate", Json.object().put("url", url));
        Await.until("the page at " + url + " to load", Duration.ofSeconds(15),
                () -> "complete".equals(evaluate("document.readyState").asText()) && url.equals(evaluate("location.href").asText()));
    }

    /**
     * The value of a JavaScript expression in the page, as JSON. While the page reloads itself there
     * is no document to evaluate in; that throws, so callers wait with {@link Await}.
     */
    public JsonNode evaluate(String expression) {
        JsonNode reply = call("Runtime.evaluate", Json.object().put("expression", expression).put("returnByValue", true));
        if (reply.has("exceptionDetails")) {
            throw new IllegalStateException("script failed: " + reply.path("exceptionDetails").path("exception").path("description").asText(
                    reply.path("exceptionDetails").path("text").asText()));
        }
        return reply.path("result").path("value");
    }

    /** A PNG of the whole page (beyond the window too), written to {@code file}. */
    public void screenshot(Path file) {
        JsonNode reply = call("Page.captureScreenshot", Json.object().put("format", "png").put("captureBeyondViewport", true));
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(file, Base64.getDecoder().decode(reply.path("data").asText()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode call(String method, ObjectNode params) {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        try {
            socket.sendText(Json.text(Json.object().put("id", id).put("method", method).set("params", params)), true)
                    .get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            JsonNode answer = reply.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (answer.has("error")) {
                throw new IllegalStateException(method + ": " + answer.path("error").path("message").asText());
            }
            return answer.path("result");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during " + method, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(method + " got no answer: " + e, e);
        } finally {
            pending.remove(id);
        }
    }

    /** Collects frames into messages (a screenshot spans many) and completes the call each answers. */
    private final class Replies implements WebSocket.Listener {
        private final StringBuilder message = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            message.append(data);
            if (last) {
                JsonNode n = parse(message.toString());
                message.setLength(0);
                if (n.has("id")) {
                    CompletableFuture<JsonNode> f = pending.get(n.path("id").asInt());
                    if (f != null) {
                        f.complete(n);
                    }
                }
            }
            webSocket.request(1);
            return null;
        }
    }

    private static String get(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode parse(String text) {
        try {
            return Json.parse(text);
        } catch (IOException e) {
            throw new UncheckedIOException("Chromium sent what is not JSON", e);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            socket.abort();
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a profile left in /tmp is harmless; the browser is stopped either way
        }
    }
}
