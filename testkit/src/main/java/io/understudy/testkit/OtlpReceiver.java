package io.understudy.testkit;

import com.google.protobuf.CodedInputStream;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * An OTLP/HTTP trace collector on a free loopback port: it takes {@code POST /v1/traces}
 * (protobuf, gzip or not), decodes each ExportTraceServiceRequest with protobuf's wire reader and
 * keeps the spans. Only the fields the tests read are decoded; the rest is skipped as the wire
 * format allows. Point an exporter at {@link #endpoint()}.
 */
public final class OtlpReceiver implements AutoCloseable {
    public static final int KIND_SERVER = 2;
    public static final int KIND_CLIENT = 3;
    public static final int STATUS_ERROR = 2;

    /** One span as received: ids in lower-case hex (parent empty for a root), attributes as text. */
    public record ReceivedSpan(String service, String traceId, String spanId, String parentSpanId, String name, int kind,
                               Map<String, String> attributes, int statusCode, String statusMessage) {
        public String attribute(String key) {
            return attributes.getOrDefault(key, "");
        }
    }

    private final HttpServer server;
    private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    public OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/traces", this::take);
        server.start();
    }

    /** The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it ({@code /v1/traces} is appended by exporters). */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public List<ReceivedSpan> spans() {
        return List.copyOf(spans);
    }

    /** Requests it could not decode (expected: none). */
    public List<String> errors() {
        return List.copyOf(errors);
    }

    private void take(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("POST")
                    || !exchange.getRequestHeaders().getFirst("Content-Type").startsWith("application/x-protobuf")) {
                errors.add(exchange.getRequestMethod() + " " + exchange.getRequestHeaders().getFirst("Content-Type"));
                exchange.sendResponseHeaders(415, -1);
                return;
            }
            InputStream in = exchange.getRequestBody();
            if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                in = new GZIPInputStream(in);
            }
            try {
                spans.addAll(exportRequest(CodedInputStream.newInstance(in.readAllBytes())));
            } catch (IOException | RuntimeException e) {
                errors.add("undecodable export: " + e);
                exchange.sendResponseHeaders(400, -1);
                return;
            }
            exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, -1); // an empty ExportTraceServiceResponse: full success
        }
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static List<ReceivedSpan> exportRequest(CodedInputStream in) throws IOException {
        List<ReceivedSpan> out = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (tag >>> 3 == 1) {
                out.addAll(resourceSpans(nested(in)));
            } else {
                in.skipField(tag);
            }
        }
        return out;
    }

    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    private static List<ReceivedSpan> resourceSpans(CodedInputStream in) throws IOException {
        String service = "";
        List<byte[]> scopes = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> service = attributes(nested(in), 1).getOrDefault("service.name", "");
                case 2 -> scopes.add(in.readByteArray());
                default -> in.skipField(tag);
            }
        }
        List<ReceivedSpan> out = new ArrayList<>();
        for (byte[] scope : scopes) {
            CodedInputStream s = CodedInputStream.newInstance(scope);
            // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
            for (int tag; (tag = s.readTag()) != 0; ) {
                if (tag >>> 3 == 2) {
                    out.add(span(nested(s), service));
                } else {
                    s.skipField(tag);
                }
            }
        }
        return out;
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6;
    //        repeated KeyValue attributes = 9; Status status = 15 { string message = 2; StatusCode code = 3; } }
    private static ReceivedSpan span(CodedInputStream in, String service) throws IOException {
        HexFormat hex = HexFormat.of();
        String traceId = "";
        String spanId = "";
        String parent = "";
        String name = "";
        int kind = 0;
        Map<String, String> attributes = new LinkedHashMap<>();
        int statusCode = 0;
        String statusMessage = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> traceId = hex.formatHex(in.readByteArray());
                case 2 -> spanId = hex.formatHex(in.readByteArray());
                case 4 -> parent = hex.formatHex(in.readByteArray());
                case 5 -> name = in.readString();
                case 6 -> kind = in.readEnum();
                case 9 -> attributes.putAll(keyValue(nested(in)));
                case 15 -> {
                    CodedInputStream status = nested(in);
                    for (int t; (t = status.readTag()) != 0; ) {
                        switch (t >>> 3) {
                            case 2 -> statusMessage = status.readString();
                            case 3 -> statusCode = status.readEnum();
                            default -> status.skipField(t);
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new ReceivedSpan(service, traceId, spanId, parent, name, kind, Map.copyOf(attributes), statusCode, statusMessage);
    }

    /** Every KeyValue in field {@code field} of a message (a Resource's attributes are field 1). */
    private static Map<String, String> attributes(CodedInputStream in, int field) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (tag >>> 3 == field) {
                out.putAll(keyValue(nested(in)));
            } else {
                in.skipField(tag);
            }
        }
        return out;
    }

    // KeyValue { string key = 1; AnyValue value = 2 { string = 1; bool = 2; int64 = 3; double = 4; ... } }
    private static Map<String, String> keyValue(CodedInputStream in) throws IOException {
        String key = "";
        String value = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> key = in.readString();
                case 2 -> {
                    CodedInputStream any = nested(in);
                    for (int t; (t = any.readTag()) != 0; ) {
                        switch (t >>> 3) {
                            case 1 -> value = any.readString();
                            case 2 -> value = String.valueOf(any.readBool());
                            case 3 -> value = String.valueOf(any.readInt64());
                            case 4 -> value = String.valueOf(any.readDouble());
                            default -> any.skipField(t);
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return Map.of(key, value);
    }

    private static CodedInputStream nested(CodedInputStream in) throws IOException {
        return CodedInputStream.newInstance(in.readByteArray());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
