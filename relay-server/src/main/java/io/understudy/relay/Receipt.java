package io.understudy.relay;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.understudy.core.Json;
import io.understudy.core.pricing.Price;
import io.understudy.core.wire.Usage;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * The itemised bill of one request: which provider and model answered, the usage, the provider's
 * cost and the relay fee. Failed attempts are listed but never billed.
 */
record Receipt(String id, long createdEpochSeconds, String endpoint, String requestedModel, String provider,
               String model, boolean stream, Usage usage, Optional<Price> price, Optional<BigDecimal> providerCost,
               BigDecimal feePercent, List<AttemptRecord> attempts, long durationMillis, String requirement) {

    /** One upstream attempt and how it ended. */
    record AttemptRecord(String provider, String model, String outcome, String detail) {
    }

    Optional<BigDecimal> fee() {
        return providerCost.map(c -> c.multiply(feePercent).movePointLeft(2).stripTrailingZeros());
    }

    Optional<BigDecimal> total() {
        return providerCost.map(c -> c.add(fee().orElse(BigDecimal.ZERO)).stripTrailingZeros());
    }

    ObjectNode toJson() {
        ObjectNode out = Json.object();
        out.put("id", id);
        out.put("object", "understudy.receipt");
        out.put("created", createdEpochSeconds);
        out.put("endpoint", endpoint);
        out.put("requested_model", requestedModel);
        out.put("provider", provider);
        out.put("model", model);
        out.put("stream", stream);
        if (!requirement.isEmpty()) {
            out.put("requirement", requirement); // what every attempt below was held to
        }
        out.set("usage", usage.toOpenAi());
        ObjectNode cost = out.putObject("cost");
        cost.put("currency", "USD");
        if (providerCost.isPresent()) {
            cost.put("provider", providerCost.get().toPlainString());
            cost.put("relay_fee", fee().orElseThrow().toPlainString());
            cost.put("total", total().orElseThrow().toPlainString());
            cost.put("fee_percent", feePercent.stripTrailingZeros().toPlainString());
        } else {
            cost.putNull("provider");
            cost.putNull("relay_fee");
            cost.putNull("total");
            cost.put("note", "no price configured for " + provider + "/" + model);
        }
        price.ifPresent(p -> {
            ObjectNode pn = out.putObject("price_per_million_tokens");
            pn.put("input", p.inputPerMillion().toPlainString());
            pn.put("output", p.outputPerMillion().toPlainString());
        });
        ArrayNode list = out.putArray("attempts");
        for (AttemptRecord a : attempts) {
            ObjectNode o = list.addObject();
            o.put("provider", a.provider());
            o.put("model", a.model());
            o.put("outcome", a.outcome());
            if (a.detail() != null) {
                o.put("detail", a.detail());
            }
        }
        out.put("duration_ms", durationMillis);
        return out;
    }
}
