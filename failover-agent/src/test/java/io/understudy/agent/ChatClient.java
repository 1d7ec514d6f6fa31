package io.understudy.agent;

import io.understudy.core.Json;
import io.understudy.sim.ProviderSim;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A client of the chat endpoint as an app is one, for tests that keep traffic flowing through a
 * fault or a reload: every call is recorded as the client saw it, streams read to their end.
 */
final class ChatClient {
    private ChatClient() {
    }

    /**
     * One request as the client saw it; {@code provider} and {@code upstream} are the answer's
     * {@code x-understudy-provider} and {@code x-understudy-upstream}.
     */
    record Outcome(boolean stream, long startNanos, long endNanos, int status, String text, boolean done, boolean errorEvent,
                   String expected, String provider, String upstream) {
        boolean complete() {
            return status == 200 && text.equals(expected) && (!stream || done);
        }

        boolean cleanError() {
            return stream ? errorEvent && !done && expected.startsWith(text) : status >= 400;
        }
    }

    /** What the sim answers {@code prompt} with, asked directly. */
    static String expectedText(HttpClient http, ProviderSim sim, String prompt) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat("x", false, prompt))).build(),
                HttpResponse.BodyHandlers.ofString());
        return Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText();
    }

    /** Asks {@code base}'s chat endpoint for {@code model}; never throws: a failure is an outcome. */
    static Outcome call(HttpClient http, String base, String model, boolean stream, String prompt, String expected) {
        long start = System.nanoTime();
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(AgentHarness.chat(model, stream, prompt))).build();
            if (!stream) {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                String text = r.statusCode() == 200
                        ? Json.parse(r.body()).path("choices").path(0).path("message").path("content").asText() : r.body();
                return new Outcome(false, start, System.nanoTime(), r.statusCode(), text, false, false, expected, provider(r), upstream(r));
            }
            HttpResponse<InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            StringBuilder text = new StringBuilder();
            boolean done = false;
            boolean error = false;
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    String d = line.substring(6);
                    if (d.equals("[DONE]")) {
                        done = true;
                    } else {
                        var json = Json.parse(d);
                        error |= json.has("error");
                        text.append(json.path("choices").path(0).path("delta").path("content").asText(""));
                    }
                }
            }
            return new Outcome(true, start, System.nanoTime(), r.statusCode(), text.toString(), done, error, expected, provider(r), upstream(r));
        } catch (Exception e) {
            return new Outcome(stream, start, System.nanoTime(), -1, "exception: " + e, false, false, expected, "", "");
        }
    }

    /** The body of a GET of {@code url}; an I/O failure is unchecked, so it can be awaited on. */
    static String get(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String upstream(HttpResponse<?> r) {
        return r.headers().firstValue("x-understudy-upstream").orElse("");
    }

    private static String provider(HttpResponse<?> r) {
        return r.headers().firstValue("x-understudy-provider").orElse("");
    }
}
