package io.understudy.core.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * {@link EtcdKv} over etcd's JSON gateway ({@code POST /v3/kv/range} and friends, served on the
 * client port by etcd 3.4 and later), with the JDK's URL connection: what the operator CLI uses, so
 * that {@code bin/understudy status} starts without loading gRPC and Netty. Keys and values travel
 * base64-encoded, 64-bit numbers as strings. Endpoints are tried in order; the one that answered
 * is tried first next time.
 * <p>
 * It carries no credentials: like the CLI's jetcd client before it, it serves clusters reached
 * without etcd authentication (TLS endpoints are verified against the JDK's trust store).
 */
public final class EtcdGateway implements EtcdKv {
    private final EtcdSettings settings;
    private volatile int preferred;

    public EtcdGateway(EtcdSettings settings) {
        this.settings = settings;
    }

    @Override
    public EtcdSettings settings() {
        return settings;
    }

    @Override
    public Optional<Entry> get(String key) {
        JsonNode kvs = call("/v3/kv/range", Json.object().put("key", b64(key))).path("kvs");
        return kvs.isEmpty() ? Optional.empty() : Optional.of(entry(kvs.get(0)));
    }

    @Override
    public List<Entry> prefix(String prefix) {
        List<Entry> out = new ArrayList<>();
        for (JsonNode kv : call("/v3/kv/range", range(prefix).put("sort_order", "ASCEND").put("sort_target", "KEY")).path("kvs")) {
            out.add(entry(kv));
        }
        return out;
    }

    @Override
    public long countPrefix(String prefix) {
        return call("/v3/kv/range", range(prefix).put("count_only", true)).path("count").asLong(0);
    }

    @Override
    public void put(String key, String value, long lease) {
        ObjectNode body = Json.object().put("key", b64(key)).put("value", b64(value));
        if (lease != 0) {
            body.put("lease", Long.toString(lease));
        }
        call("/v3/kv/put", body);
    }

    @Override
    public void delete(String key) {
        call("/v3/kv/deleterange", Json.object().put("key", b64(key)));
    }

    @Override
    public void deleteIfValue(String key, String value) {
        ObjectNode txn = Json.object();
        txn.putArray("compare").addObject().put("key", b64(key)).put("result", "EQUAL").put("target", "VALUE")
                .put("value", b64(value));
        txn.putArray("success").addObject().putObject("request_delete_range").put("key", b64(key));
        call("/v3/kv/txn", txn);
    }

    @Override
    public Optional<Entry> electionLeader(String name) {
        try {
            return Optional.of(entry(call("/v3/election/leader", Json.object().put("name", b64(name))).path("kv")));
        } catch (EtcdUnavailable e) {
            if (String.valueOf(e.getMessage()).contains("no leader")) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public long leaseSecondsLeft(long lease) {
        return call("/v3/lease/timetolive", Json.object().put("ID", Long.toString(lease))).path("TTL").asLong(-1);
    }

    @Override
    public void revoke(long lease) {
        call("/v3/lease/revoke", Json.object().put("ID", Long.toString(lease)));
    }

    private ObjectNode range(String prefix) {
        byte[] start = prefix.getBytes(StandardCharsets.UTF_8);
        return Json.object().put("key", Base64.getEncoder().encodeToString(start))
                .put("range_end", Base64.getEncoder().encodeToString(EtcdKv.prefixEnd(start)));
    }

    /** One POST, on the first endpoint that answers; an error etcd answered is not retried elsewhere. */
    private JsonNode call(String path, ObjectNode body) {
        List<URI> endpoints = settings.endpoints();
        String failures = "";
        byte[] payload = Json.bytes(body);
        for (int i = 0; i < endpoints.size(); i++) {
            int index = (preferred + i) % endpoints.size();
            int status;
            String answer;
            try {
                // HttpURLConnection, not java.net.http: its client builds the default TLS context (the whole
                // CA store parsed) even for http://, half a second of the CLI's start on a small machine
                HttpURLConnection c = (HttpURLConnection) URI.create(endpoints.get(index).toString().replaceAll("/+$", "") + path)
                        .toURL().openConnection();
                c.setConnectTimeout((int) settings.opTimeout().toMillis());
                c.setReadTimeout((int) settings.opTimeout().toMillis());
                c.setRequestMethod("POST");
                c.setDoOutput(true);
                c.setRequestProperty("Content-Type", "application/json");
                try (OutputStream out = c.getOutputStream()) {
                    out.write(payload);
                }
                status = c.getResponseCode();
                try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
                    answer = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                failures += (failures.isEmpty() ? "" : "; ") + endpoints.get(index) + ": " + describe(e);
                continue;
            }
            preferred = index;
            JsonNode parsed = ClusterState.parse(answer);
            if (status != 200) {
                String error = parsed.path("message").asText(parsed.path("error").asText("HTTP " + status));
                throw new EtcdUnavailable("etcd call failed: " + error, null);
            }
            return parsed;
        }
        throw new EtcdUnavailable("no endpoint answered (" + failures + ")", null);
    }

    private static String describe(IOException e) {
        if (e instanceof java.net.SocketTimeoutException) {
            return "no answer in time";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static Entry entry(JsonNode kv) {
        return new Entry(text(kv.path("key").asText("")), text(kv.path("value").asText("")),
                kv.path("create_revision").asLong(0), kv.path("lease").asLong(0));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(String b64) {
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }
}
