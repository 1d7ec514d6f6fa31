package io.understudy.core.sse;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SseReaderTest {

    private static List<SseEvent> readAll(String text) throws IOException {
        SseReader reader = new SseReader(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        List<SseEvent> events = new ArrayList<>();
        for (SseEvent e = reader.next(); e != null; e = reader.next()) {
            events.add(e);
        }
        return events;
    }

    @Test
    void parsesEventsWithAnyLineEnding() throws IOException {
        assertEquals(List.of(SseEvent.data("a"), SseEvent.data("b"), SseEvent.data("c")),
                readAll("data: a\n\ndata: b\r\n\r\ndata: c\r\r"));
    }

    @Test
    void joinsMultiLineDataAndKeepsEventNames() throws IOException {
        assertEquals(List.of(SseEvent.named("message_start", "line1\nline2")),
                readAll("event: message_start\ndata: line1\ndata: line2\n\n"));
    }

    @Test
    void ignoresCommentsIdsAndDataWithoutSpace() throws IOException {
        assertEquals(List.of(SseEvent.data("{\"x\":1}")), readAll(": keep-alive\nid: 7\nretry: 10\ndata:{\"x\":1}\n\n"));
    }

    @Test
    void dropsAnEventCutBeforeItsBlankLine() throws IOException {
        assertEquals(List.of(SseEvent.data("whole")), readAll("data: whole\n\ndata: cut-in-the-mid"));
    }

    @Test
    void multiByteCharactersSplitAcrossReadsSurvive() throws IOException {
        String text = "data: héllo wörld ✓\n\n";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        // An input stream that hands out one byte per read, so every character is split.
        var oneByteAtATime = new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(1, len));
            }
        };
        SseEvent event = new SseReader(oneByteAtATime).next();
        assertEquals("héllo wörld ✓", event.data());
    }

    @Test
    void deliversEachEventBeforeTheStreamEnds() throws Exception {
        PipedOutputStream writer = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(writer, 1024);
        SseReader reader = new SseReader(in);
        writer.write("data: first\n\n".getBytes(StandardCharsets.UTF_8));
        writer.flush();
        // The writer stays open: the reader must return the first event without waiting for more.
        SseEvent first = CompletableFuture.supplyAsync(() -> {
            try {
                return reader.next();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).get(5, TimeUnit.SECONDS);
        assertEquals("first", first.data());
        writer.write("data: second\n\n".getBytes(StandardCharsets.UTF_8));
        writer.close();
        assertEquals("second", reader.next().data());
        assertNull(reader.next());
    }

    @Test
    void refusesAnOversizedEvent() {
        SseReader reader = new SseReader(new ByteArrayInputStream(("data: " + "x".repeat(5000) + "\n\n")
                .getBytes(StandardCharsets.UTF_8)), 1024);
        assertThrows(IOException.class, reader::next);
    }

    @Test
    void writerRoundTripsThroughReader() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SseWriter writer = new SseWriter(out);
        writer.write(SseEvent.named("content_block_delta", "{\"a\":1}"));
        writer.write(SseEvent.data("two\nlines"));
        writer.write(SseEvent.data(SseEvent.DONE));
        List<SseEvent> events = readAll(out.toString(StandardCharsets.UTF_8));
        assertEquals(List.of(SseEvent.named("content_block_delta", "{\"a\":1}"), SseEvent.data("two\nlines"),
                SseEvent.data("[DONE]")), events);
        assertFalse(events.get(0).isDone());
    }
}
