package io.understudy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.core.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code understudy drill}: a failover rehearsal against a running deployment, careful enough for
 * production. Paced, labelled synthetic load goes through one agent while, step by step and each
 * confirmed, the agent avoids its primary tier for a while, leadership moves to the standby and
 * back, and (with --direct) the agent avoids every relay. Every avoidance ends by itself, and is
 * lifted when the drill ends or is interrupted. The report says what users would have seen; the
 * exit status whether the deployment met the bounds.
 */
@Command(name = "drill", mixinStandardHelpOptions = true,
        description = "Rehearse a failover on a running deployment and report what clients saw (exit 0: within bounds, 1: not).")
final class DrillCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Option(names = "--agent", defaultValue = "http://127.0.0.1:4000", description = "The agent to drill through (default: ${DEFAULT-VALUE})")
    URI agent;

    @Option(names = "--admin-token-file", defaultValue = ".understudy/admin-token",
            description = "The agent's admin token (default: ${DEFAULT-VALUE}, written by 'up'; or $UNDERSTUDY_ADMIN_TOKEN)")
    Path adminTokenFile;

    @Option(names = "--api-key-env", defaultValue = "UNDERSTUDY_AGENT_KEY",
            description = "Variable with a key the agent accepts, if it asks for one (default: ${DEFAULT-VALUE})")
    String apiKeyEnv;

    @Option(names = "--model", defaultValue = "gpt-4o-mini", description = "Model of the synthetic requests (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--rate", defaultValue = "5", description = "Synthetic requests per second (default: ${DEFAULT-VALUE}; each asks 16 tokens)")
    double rate;

    @Option(names = "--baseline", defaultValue = "PT10S", description = "Load before the first step (default: ${DEFAULT-VALUE})")
    Duration baseline;

    @Option(names = "--hold", defaultValue = "PT15S", description = "How long each step keeps traffic away (default: ${DEFAULT-VALUE})")
    Duration hold;

    @Option(names = "--settle", defaultValue = "PT10S", description = "Load after each step, to see traffic return (default: ${DEFAULT-VALUE})")
    Duration settle;

    @Option(names = "--no-switchover", description = "Leave out the planned switchover to the standby and back")
    boolean noSwitchover;

    @Option(names = "--direct", description = "Also make the agent avoid every relay, to exercise its direct tier")
    boolean direct;

    @Option(names = "--yes", description = "Run every step without asking (scripts)")
    boolean yes;

    @Option(names = "--max-errors", defaultValue = "0", description = "Failed requests allowed (default: ${DEFAULT-VALUE})")
    long maxErrors;

    @Option(names = "--max-added-latency", defaultValue = "PT1S",
            description = "p99 latency a step may add over the baseline (default: ${DEFAULT-VALUE})")
    Duration maxAddedLatency;

    @Option(names = "--report", description = "Directory for report.md, report.html, requests.csv (default: drill-<time>)")
    Path reportDir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private BufferedReader stdin;

    /** One step of the drill: what it does to move traffic away, and to bring it back. */
    private record Plan(String id, String title, String question, Action away, Action back) {
    }

    @FunctionalInterface
    private interface Action {
        void run() throws InterruptedException;
    }

    @Override
    public Integer call() throws Exception {
        Logging.quiet();
        if (rate <= 0 || rate > 1000) {
            throw new UserError("--rate must be above 0 and at most 1000");
        }
        for (Duration d : List.of(baseline, hold, settle)) {
            if (d.isNegative() || d.isZero()) {
                throw new UserError("--baseline, --hold and --settle must be positive");
            }
        }
        if (maxErrors < 0 || maxAddedLatency.isNegative()) {
            throw new UserError("--max-errors and --max-added-latency cannot be negative");
        }
        String token = adminToken();
        JsonNode status = get("/status", Optional.empty());
        List<String> relayTiers = new ArrayList<>();
        List<String> notReady = new ArrayList<>();
        for (JsonNode tier : status.path("tiers")) {
            if (tier.path("kind").asText().equals("relay")) {
                relayTiers.add(tier.path("name").asText());
                tier.path("upstreams").forEach(u -> {
                    if (!u.path("health").asText().equals("up")) {
                        notReady.add(u.path("name").asText() + " is " + u.path("health").asText());
                    }
                });
            }
        }
        if (relayTiers.size() < 2) {
            throw new UserError("the agent at " + agent + " has " + relayTiers.size() + " relay tier(s): a drill needs a primary and a standby");
        }
        if (!notReady.isEmpty()) {
            System.err.println("understudy: refused: not every relay is healthy (" + String.join(", ", notReady)
                    + "); a drill starts from a healthy deployment");
            return ClusterOptions.PRECONDITION_FAILED;
        }
        get("/admin/avoid", Optional.of(token)); // the token works before anything is touched
        String home = relayTiers.get(0);
        boolean leadership = !status.path("leader").isNull() && !status.path("leader").path("instance").isNull();
        boolean hasDirect = false;
        for (JsonNode tier : status.path("tiers")) {
            hasDirect |= tier.path("kind").asText().equals("direct") && !tier.path("upstreams").isEmpty();
        }
        List<String> notes = new ArrayList<>();
        List<Plan> plans = new ArrayList<>();
        plans.add(new Plan("avoid-" + home, "Agent avoids " + home,
                "Make this agent avoid its '" + home + "' tier for " + hold.toSeconds() + " s (new requests go to the next tier)?",
                () -> avoid("{\"tiers\":[\"" + home + "\"]}", token), () -> lift(token)));
        if (noSwitchover) {
            notes.add("The planned switchover was left out (--no-switchover).");
        } else if (!leadership) {
            notes.add("No switchover step: the agent follows no leadership (no etcd section, or no leader yet).");
        } else {
            plans.add(new Plan("switchover", "Switchover to " + relayTiers.get(1) + " and back",
                    "Move leadership to the standby (planned: the primary drains first), hold " + hold.toSeconds()
                            + " s, then move it back?",
                    () -> switchover(relayTiers.get(1)), () -> switchover(home)));
        }
        if (direct && !hasDirect) {
            notes.add("No direct-tier step: the agent has no direct tier with providers.");
        } else if (direct) {
            plans.add(new Plan("avoid-relays", "Agent avoids every relay",
                    "Make this agent avoid every relay for " + hold.toSeconds() + " s (its direct tier calls providers itself)?",
                    () -> avoid("{\"relays\":true}", token), () -> lift(token)));
        }

        String drillId = "drill-" + Instant.now().toString().replace(":", "").replace(".", "");
        Path dir = reportDir != null ? reportDir : Path.of(drillId);
        System.out.println("Drill " + drillId + " through " + agent + ": " + rate + " requests/s of " + model + " (labelled x-understudy-drill),");
        System.out.println("baseline " + baseline.toSeconds() + " s, then " + plans.size() + " step(s), each held " + hold.toSeconds()
                + " s and followed by " + settle.toSeconds() + " s. Report: " + dir);
        Thread safety = new Thread(() -> liftQuietly(token), "drill-lift");
        Runtime.getRuntime().addShutdownHook(safety); // Ctrl-C mid-step: nothing stays avoided
        long origin = System.nanoTime();
        List<DrillReport.Step> steps = new ArrayList<>();
        List<DrillLoad.Sample> samples;
        DrillReport.Step base;
        try (DrillLoad load = new DrillLoad(agent, model, drillId, Optional.ofNullable(System.getenv(apiKeyEnv)).filter(k -> !k.isBlank()),
                rate, origin)) {
            Thread.sleep(baseline.toMillis());
            base = new DrillReport.Step("baseline", "Baseline", 0, load.nowMs(), load.nowMs());
            for (Plan plan : plans) {
                if (!confirm(plan.question())) {
                    notes.add("Stopped before '" + plan.title() + "': not confirmed.");
                    break;
                }
                long start = load.nowMs();
                System.out.println("  " + plan.title() + "...");
                plan.away().run();
                Thread.sleep(hold.toMillis());
                long lift = load.nowMs();
                plan.back().run();
                Thread.sleep(settle.toMillis());
                steps.add(new DrillReport.Step(plan.id(), plan.title(), start, lift, load.nowMs()));
            }
            samples = load.stop(Duration.ofSeconds(60));
        } finally {
            liftQuietly(token);
            try {
                Runtime.getRuntime().removeShutdownHook(safety);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
        DrillReport.Bounds bounds = new DrillReport.Bounds(maxErrors, maxAddedLatency);
        DrillReport.Result result = DrillReport.measure(samples, home, base, steps, bounds, Math.round(1000 / rate));
        write(dir, result, samples, bounds, notes);
        System.out.print(DrillReport.markdown(result, agent.toString(), bounds, notes));
        return result.verdict().passed() ? 0 : 1;
    }

    private boolean confirm(String question) throws IOException {
        if (yes) {
            return true;
        }
        System.out.print(question + " [y/N] ");
        System.out.flush();
        if (stdin == null) {
            stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        }
        String answer = stdin.readLine();
        if (answer == null) {
            System.out.println();
            throw new UserError("no answer (standard input is closed): run the drill in a terminal, or pass --yes");
        }
        return answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes");
    }

    private void avoid(String target, String token) {
        String body = target.substring(0, target.length() - 1) + ",\"seconds\":" + Math.max(1, hold.toSeconds() + settle.toSeconds())
                + ",\"reason\":\"understudy drill\"}";
        send(HttpRequest.newBuilder(agent.resolve("/admin/avoid")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)), Optional.of(token));
    }

    private void lift(String token) {
        send(HttpRequest.newBuilder(agent.resolve("/admin/avoid")).DELETE(), Optional.of(token));
    }

    private void liftQuietly(String token) {
        try {
            lift(token);
        } catch (RuntimeException e) {
            System.err.println("understudy: could not lift the drill's avoidances (" + e.getMessage()
                    + "); they end by themselves within " + (hold.toSeconds() + settle.toSeconds()) + " s");
        }
    }

    private void switchover(String to) throws InterruptedException {
        int code = PromoteCommand.move("switchover", to, "understudy drill", false, cluster, Duration.ofSeconds(30));
        if (code != 0) {
            throw new UserError("the switchover to " + to + " did not complete (exit " + code + "); the drill stops here");
        }
    }

    private String adminToken() {
        String fromEnv = System.getenv(UpCommand.ADMIN_TOKEN_ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv.trim();
        }
        try {
            return Files.readString(adminTokenFile).trim();
        } catch (IOException e) {
            throw new UserError("no admin token: set " + UpCommand.ADMIN_TOKEN_ENV + " or --admin-token-file (cannot read "
                    + adminTokenFile + ")");
        }
    }

    private JsonNode get(String path, Optional<String> token) {
        return send(HttpRequest.newBuilder(agent.resolve(path)).GET(), token);
    }

    private JsonNode send(HttpRequest.Builder request, Optional<String> token) {
        token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
        try {
            HttpResponse<String> r = http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                String message = Json.parse(r.body()).path("error").path("message").asText(r.body());
                throw new UserError("the agent at " + agent + " answered " + r.statusCode() + " to " + r.request().method() + " "
                        + r.request().uri().getPath() + ": " + message);
            }
            return Json.parse(r.body());
        } catch (IOException e) {
            throw new UserError("cannot reach the agent at " + agent + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("interrupted");
        }
    }

    private void write(Path dir, DrillReport.Result result, List<DrillLoad.Sample> samples, DrillReport.Bounds bounds,
                       List<String> notes) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("report.md"), DrillReport.markdown(result, agent.toString(), bounds, notes));
        Files.writeString(dir.resolve("report.html"), DrillReport.html(result, samples, agent.toString(), bounds, notes));
        StringBuilder csv = new StringBuilder("seq,start_ms,latency_ms,stream,status,tier,upstream,error\n");
        for (DrillLoad.Sample s : samples) {
            csv.append(s.seq()).append(',').append(s.startMs()).append(',').append(s.latencyMs()).append(',').append(s.stream())
                    .append(',').append(s.status()).append(',').append(s.tier()).append(',').append(s.upstream()).append(",\"")
                    .append(s.error().replace("\"", "'")).append("\"\n");
        }
        Files.writeString(dir.resolve("requests.csv"), csv.toString());
    }
}
