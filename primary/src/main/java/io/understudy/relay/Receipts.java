package io.understudy.relay;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The most recent receipts by request id, oldest evicted first. */
final class Receipts {
    private final int capacity;
    private final Map<String, Receipt> byId;

    Receipts(int capacity) {
        this.capacity = capacity;
        this.byId = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Receipt> eldest) {
                return size() > Receipts.this.capacity;
            }
        };
    }

    synchronized void add(Receipt receipt) {
        if (capacity > 0) {
            byId.put(receipt.id(), receipt);
        }
    }

    synchronized Optional<Receipt> get(String id) {
        return Optional.ofNullable(byId.get(id));
    }
}
