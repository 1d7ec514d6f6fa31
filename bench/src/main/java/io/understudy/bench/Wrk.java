package io.understudy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Closed-loop maximum throughput with wrk (Debian's package): POSTs of a non-streaming chat request. */
final class Wrk {
    /** Requests per second wrk reached, and the answers that were not 2xx or failed on the socket. */
    record Throughput(double requestsPerSecond, long requests, long errors) {
    }

    private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern TOTAL = Pattern.compile("(\\d+) requests in");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern SOCKET = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

    private final Path binary;
    private final int connections;

    Wrk(Path binary, int connections) {
        this.binary = binary;
        this.connections = connections;
    }

    String version() {
        return Peers.firstLine(List.of(binary.toString(), "-v"));
    }

    /** The exact command, for the results file. */
    String command(String url, Duration duration) {
        return "wrk -t2 -c" + connections + " -d" + duration.toSeconds() + "s -s post.lua " + url + "/v1/chat/completions";
    }

    Throughput run(Path dir, String url, Map<String, String> headers, Duration duration) throws IOException, InterruptedException {
        StringBuilder lua = new StringBuilder("wrk.method = \"POST\"\n")
                .append("wrk.body = '").append(OpenLoopLoad.body(false)).append("'\n")
                .append("wrk.headers[\"Content-Type\"] = \"application/json\"\n")
                .append("wrk.headers[\"Authorization\"] = \"Bearer sk-bench\"\n");
        headers.forEach((k, v) -> lua.append("wrk.headers[\"").append(k).append("\"] = '").append(v).append("'\n"));
        Path script = Files.writeString(dir.resolve("post.lua"), lua);
        List<String> command = new ArrayList<>(List.of(binary.toString(), "-t2", "-c" + connections, "-d" + duration.toSeconds() + "s",
                "--timeout", "10s", "-s", script.toString(), url + "/v1/chat/completions"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(duration.toSeconds() + 30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("wrk did not finish");
        }
        Files.writeString(dir.resolve("wrk.out"), out);
        Matcher rate = RATE.matcher(out);
        Matcher total = TOTAL.matcher(out);
        if (!rate.find() || !total.find()) {
            throw new IllegalStateException("wrk printed no rate:\n" + out);
        }
        long errors = 0;
        Matcher non2xx = NON_2XX.matcher(out);
        if (non2xx.find()) {
            errors += Long.parseLong(non2xx.group(1));
        }
        Matcher socket = SOCKET.matcher(out);
        if (socket.find()) {
            for (int g = 1; g <= 4; g++) {
                errors += Long.parseLong(socket.group(g));
            }
        }
        return new Throughput(Double.parseDouble(rate.group(1)), Long.parseLong(total.group(1)), errors);
    }
}
