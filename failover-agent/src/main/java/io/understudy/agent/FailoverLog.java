package io.understudy.agent;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** The most recent failovers and state changes, with their reasons, for /status and the page. */
final class FailoverLog {
    record Entry(long atMillis, String requestId, String from, String to, String reason) {
    }

    private final int capacity;
    private final Deque<Entry> entries = new ArrayDeque<>();

    FailoverLog(int capacity) {
        this.capacity = capacity;
    }

    synchronized void add(Entry entry) {
        entries.addFirst(entry);
        if (entries.size() > capacity) {
            entries.removeLast();
        }
    }

    synchronized List<Entry> recent() {
        return List.copyOf(entries);
    }
}
