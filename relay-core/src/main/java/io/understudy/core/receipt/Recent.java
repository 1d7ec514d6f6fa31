package io.understudy.core.receipt;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The most recent receipts (or any records) by request id, oldest evicted first. */
public final class Recent<T> {
    private final int capacity;
    private final Map<String, T> byId;

    public Recent(int capacity) {
        this.capacity = capacity;
        this.byId = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, T> eldest) {
                return size() > Recent.this.capacity;
            }
        };
    }

    public int capacity() {
        return capacity;
    }

    public synchronized void add(String id, T value) {
        if (capacity > 0) {
            byId.put(id, value);
        }
    }

    public synchronized Optional<T> get(String id) {
        return Optional.ofNullable(byId.get(id));
    }
}
