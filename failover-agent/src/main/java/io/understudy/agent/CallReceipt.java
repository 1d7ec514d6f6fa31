package io.understudy.agent;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * The itemised bill of one client request at the agent: every upstream call it made, in order, and
 * the answer the client received. A failed call (error, timeout, refused) is listed and never
 * billed. A stream that broke after its first byte was billed by its provider for what it streamed,
 * which nobody reported: its line says so and carries no cost, and {@link #costComplete()} is false.
 *
 * @param usage what the client was told the answer used; {@code usageEstimated} when it was put
 *              together from a continuation (the prefix's tokens counted as one per streamed chunk)
 */
record CallReceipt(String id, long createdEpochSeconds, String endpoint, String requestedModel, boolean stream,
                   String outcome, Optional<String> answeredModel, Optional<Usage> usage, boolean usageEstimated,
                   List<Line> calls, long durationMillis, String requirement) {

    /**
     * One upstream call. {@code billed}: the provider did work for it (an answer, or a stream cut
     * short); {@code relayReceipt}: where the relay that made it keeps its own receipt.
     */
    record Line(String upstream, String tier, Optional<String> provider, String model, String outcome, boolean billed,
                Optional<Usage> usage, Optional<BigDecimal> cost, Optional<String> relayReceipt, String detail) {
    }

    CallReceipt {
        calls = List.copyOf(calls);
    }

    /** The sum of the known costs of billed calls. */
    BigDecimal cost() {
        return calls.stream().filter(Line::billed).map(l -> l.cost().orElse(BigDecimal.ZERO))
                .reduce(BigDecimal.ZERO, BigDecimal::add).stripTrailingZeros();
    }

    /** True when every billed call has a known cost, so {@link #cost()} is the whole bill. */
    boolean costComplete() {
        return calls.stream().filter(Line::billed).allMatch(l -> l.cost().isPresent());
    }

    ObjectNode toJson() {
        ObjectNode out = Json.object();
        out.put("id", id);
        out.put("object", "understudy.agent_receipt");
        out.put("created", createdEpochSeconds);
        out.put("endpoint", endpoint);
        out.put("requested_model", requestedModel);
        out.put("stream", stream);
        if (!requirement.isEmpty()) {
            out.put("requirement", requirement); // what every call below was held to
        }
        out.put("outcome", outcome);
        answeredModel.ifPresentOrElse(m -> out.put("model", m), () -> out.putNull("model"));
        usage.ifPresentOrElse(u -> out.set("usage", u.toOpenAi()), () -> out.putNull("usage"));
        out.put("usage_estimated", usageEstimated);
        ObjectNode cost = out.putObject("cost");
        cost.put("currency", "USD");
        cost.put("total", cost().toPlainString());
        cost.put("complete", costComplete());
        if (!costComplete()) {
            cost.put("note", "a billed call has no known cost (no price configured, or a stream cut before its usage)");
        }
        ArrayNode list = out.putArray("calls");
        for (Line l : calls) {
            ObjectNode o = list.addObject();
            o.put("upstream", l.upstream());
            o.put("tier", l.tier());
            l.provider().ifPresentOrElse(p -> o.put("provider", p), () -> o.putNull("provider"));
            o.put("model", l.model());
            o.put("outcome", l.outcome());
            o.put("billed", l.billed());
            l.usage().ifPresentOrElse(u -> o.set("usage", u.toOpenAi()), () -> o.putNull("usage"));
            l.cost().ifPresentOrElse(c -> o.put("cost_usd", c.toPlainString()), () -> o.putNull("cost_usd"));
            l.relayReceipt().ifPresent(r -> o.put("relay_receipt", r));
            if (l.detail() != null) {
                o.put("detail", l.detail());
            }
        }
        out.put("duration_ms", durationMillis);
        return out;
    }
}
