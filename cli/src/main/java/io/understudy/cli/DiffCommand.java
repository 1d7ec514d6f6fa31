package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code understudy diff}: sends one request straight to a provider and through the agent or a
 * relay, and prints what differs (see {@link ResponseDiff}). The field's advice is to diff a
 * relay's raw answers against direct calls before trusting it; this is that diff as a command.
 */
@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Send one request straight to a provider and through the agent or a relay; print the differences.",
                "Exit 0: the same apart from ids and timestamps; 1: they differ; 2: the command could not run."})
final class DiffCommand implements Callable<Integer> {
    static final int DIFFERENT = 1;

    @Option(names = "--direct", required = true, paramLabel = "URL",
            description = "The provider's API root, e.g. https://api.openai.com/v1 or https://api.anthropic.com/v1")
    URI direct;

    @Option(names = "--through", required = true, paramLabel = "URL",
            description = "The agent's or a relay's API root, e.g. http://127.0.0.1:4000/v1")
    URI through;

    @Option(names = "--direct-key-env", paramLabel = "VAR", description = "Environment variable holding the provider's key")
    String directKeyEnv;

    @Option(names = "--through-key-env", paramLabel = "VAR", description = "Environment variable holding the key the agent or relay wants, if any")
    String throughKeyEnv;

    @Option(names = "--dialect", defaultValue = "openai", paramLabel = "openai|anthropic",
            description = "openai: POST /chat/completions; anthropic: POST /messages (default: ${DEFAULT-VALUE})")
    String dialect;

    @Option(names = "--timeout", defaultValue = "PT120S", paramLabel = "DURATION", description = "Per call (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "The request body (JSON); '-' or none: standard input")
    String file;

    private final Map<String, String> env;
    private final PrintStream out;

    DiffCommand() {
        this(System.getenv(), System.out);
    }

    DiffCommand(Map<String, String> env, PrintStream out) {
        this.env = env;
        this.out = out;
    }

    @Override
    public Integer call() throws InterruptedException {
        ResponseDiff.Dialect d = switch (dialect.toLowerCase(java.util.Locale.ROOT)) {
            case "openai" -> ResponseDiff.Dialect.OPENAI;
            case "anthropic" -> ResponseDiff.Dialect.ANTHROPIC;
            default -> throw new UserError("--dialect must be openai or anthropic, got '" + dialect + "'");
        };
        byte[] body = read();
        JsonNode request;
        try {
            request = Json.parse(body);
        } catch (IOException e) {
            throw new UserError("the request is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (request == null || !request.isObject()) {
            throw new UserError("the request must be a JSON object");
        }
        boolean stream = request.path("stream").asBoolean(false);
        String path = d == ResponseDiff.Dialect.ANTHROPIC ? "/messages" : "/chat/completions";
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            ResponseDiff.Answer a = send(http, "direct", direct, path, body, key(directKeyEnv), d);
            ResponseDiff.Answer b = send(http, "through", through, path, body, key(throughKeyEnv), d);
            List<String> differences = ResponseDiff.compare(a, b, d, stream);
            if (differences.isEmpty()) {
                out.println("no difference apart from ids and timestamps");
                return 0;
            }
            out.println(differences.size() + " difference(s):");
            differences.forEach(line -> out.println("  " + line));
            return DIFFERENT;
        }
    }

    private byte[] read() {
        try {
            return file == null || file.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(file));
        } catch (IOException e) {
            throw new UserError("cannot read " + (file == null ? "standard input" : file) + ": " + e.getMessage());
        }
    }

    private String key(String var) {
        if (var == null) {
            return null;
        }
        String value = env.get(var);
        if (value == null || value.isBlank()) {
            throw new UserError("environment variable " + var + " is not set");
        }
        return value;
    }

    private ResponseDiff.Answer send(HttpClient http, String side, URI root, String path, byte[] body, String key,
                                     ResponseDiff.Dialect d) throws InterruptedException {
        URI uri = URI.create(root.toString().replaceAll("/+$", "") + path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (d == ResponseDiff.Dialect.ANTHROPIC) {
            b.header("anthropic-version", "2023-06-01");
            if (key != null) {
                b.header("x-api-key", key);
            }
        } else if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        long started = System.nanoTime();
        try {
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            out.println(side + ": POST " + uri + " -> " + r.statusCode() + " in " + (System.nanoTime() - started) / 1_000_000 + " ms");
            return ResponseDiff.Answer.of(r.statusCode(), r.headers().firstValue("content-type").orElse(""),
                    new String(r.body(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UserError(side + " call to " + uri + " failed: " + e.getMessage());
        }
    }
}
