package io.understudy.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.understudy.testkit.HeadlessChromium;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * After a class of scenarios, the chaos report as rebuilt so far is opened in a real headless
 * Chromium: a row per scenario with the verdict its summary holds, and a drawn timeline per scenario
 * with one mark per request. A screenshot is kept beside it ({@code index.png}).
 */
final class ChaosReportPage implements AfterAllCallback {
    /** The legend's marks in every timeline: three tiers, a clean error, a truncated/hung cross. */
    private static final int LEGEND_MARKS = 5;
    private static final String RENDERED = """
            ({ rows: [...document.querySelectorAll('table tr.pass, table tr.fail')].map(r => ({
                 id: r.cells[0].textContent, verdict: r.cells[r.cells.length - 1].textContent })),
               sections: [...document.querySelectorAll('section')].map(s => ({
                 id: s.id,
                 width: s.querySelector('svg') ? s.querySelector('svg').getBoundingClientRect().width : 0,
                 marks: s.querySelectorAll('svg circle, svg path').length })) })""";

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        List<JsonNode> summaries = ChaosReport.summaries();
        Path index = ChaosReport.dir().resolve("index.html").toAbsolutePath();
        assertTrue(!summaries.isEmpty() && Files.exists(index), "the scenarios of " + context.getDisplayName() + " wrote a report");
        try (HeadlessChromium browser = new HeadlessChromium()) {
            browser.open(index.toUri().toString());
            JsonNode page = browser.evaluate(RENDERED);
            List<String> expectedRows = new ArrayList<>();
            List<String> rows = new ArrayList<>();
            for (JsonNode s : summaries) {
                expectedRows.add(s.path("id").asText() + " " + (s.path("passed").asBoolean() ? "pass" : "FAIL"));
            }
            page.path("rows").forEach(r -> rows.add(r.path("id").asText() + " " + r.path("verdict").asText()));
            assertEquals(expectedRows, rows, "the report's table: a row per scenario of this run, with its verdict");
            assertEquals(summaries.size(), page.path("sections").size(), "a section per scenario");
            for (int i = 0; i < summaries.size(); i++) {
                JsonNode summary = summaries.get(i);
                JsonNode section = page.path("sections").get(i);
                assertEquals(summary.path("id").asText(), section.path("id").asText());
                assertTrue(section.path("width").asDouble() > 0, "the timeline of " + section.path("id").asText() + " is drawn");
                assertEquals(summary.path("requests").asInt(), section.path("marks").asInt() - LEGEND_MARKS,
                        "one mark per request in the timeline of " + section.path("id").asText());
            }
            browser.screenshot(ChaosReport.dir().resolve("index.png"));
        }
    }
}
