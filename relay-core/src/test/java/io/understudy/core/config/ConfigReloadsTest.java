package io.understudy.core.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigReloadsTest {
    /** A configuration as the process sees it: a record, compared by value. */
    record Conf(String route, int port) {
    }

    private final AtomicReference<Object> next = new AtomicReference<>();
    private final List<Conf> appliedConfigs = new ArrayList<>();

    private ConfigReloads<Conf> reloads(Conf running) {
        return new ConfigReloads<>("test", () -> {
            Object n = next.get();
            if (n instanceof ConfigError e) {
                throw e;
            }
            return (Conf) n;
        }, running, c -> {
            if (c.route().equals("refused-by-the-process")) {
                throw new ConfigError("routes.0.model", "cannot be served");
            }
            appliedConfigs.add(c);
            return ConfigReloads.restartOnly(running, c, List.of(new ConfigReloads.Key<>("server.port", Conf::port)));
        }, Clock.systemUTC());
    }

    @Test
    void aChangedConfigIsAppliedAsTheNextGenerationAndNamesKeysThatWaitForARestart() {
        ConfigReloads<Conf> r = reloads(new Conf("a", 1));
        next.set(new Conf("b", 2));
        ConfigReloads.Outcome o = r.reload("SIGHUP");
        assertEquals(new ConfigReloads.Outcome.Applied(2, List.of("server.port changes only at a restart")), o);
        assertEquals(List.of(new Conf("b", 2)), appliedConfigs);
        assertEquals(2, r.generation());
        assertEquals(1, r.applied());
        assertTrue(r.last().contains("(SIGHUP) applied as generation 2"), r.last());
    }

    @Test
    void theSameConfigReadAgainChangesNothing() {
        ConfigReloads<Conf> r = reloads(new Conf("a", 1));
        next.set(new Conf("a", 1));
        assertEquals(new ConfigReloads.Outcome.Unchanged(1), r.reload("SIGHUP"));
        assertEquals(List.of(), appliedConfigs);
        assertEquals(0, r.applied() + r.refused());
    }

    @Test
    void aConfigThatDoesNotLoadIsRefusedWithItsKeyAndTheRunningOneStays() {
        ConfigReloads<Conf> r = reloads(new Conf("a", 1));
        next.set(new ConfigError("agent.request-timeout", "must be an ISO-8601 duration"));
        ConfigReloads.Outcome o = r.reload("SIGHUP");
        assertEquals("agent.request-timeout", assertInstanceOf(ConfigReloads.Outcome.Refused.class, o).key());
        assertEquals(1, r.refused());
        assertEquals(1, r.generation());
        // the next good file is compared with what runs, not with the refused one
        next.set(new Conf("a", 1));
        assertInstanceOf(ConfigReloads.Outcome.Unchanged.class, r.reload("SIGHUP"));
    }

    @Test
    void aConfigTheProcessRefusesChangesNothing() {
        ConfigReloads<Conf> r = reloads(new Conf("a", 1));
        next.set(new Conf("refused-by-the-process", 1));
        assertEquals("routes.0.model", assertInstanceOf(ConfigReloads.Outcome.Refused.class, r.reload("SIGHUP")).key());
        next.set(new Conf("b", 1));
        assertEquals(new ConfigReloads.Outcome.Applied(2, List.of()), r.reload("SIGHUP"));
    }

    @Test
    void aWatchedFileIsReloadedOnceItsNewContentHoldsStill(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("c.yaml"), "a");
        try (ConfigReloads<Conf> r = new ConfigReloads<>("test", () -> new Conf(readQuietly(file), 1), new Conf("a", 1),
                c -> {
                    appliedConfigs.add(c);
                    return List.of();
                }, Clock.systemUTC())) {
            r.watch(file, Duration.ofMillis(20));
            Files.writeString(file, "b");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (r.applied() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, r.applied(), "the change was seen within 10 s");
            assertEquals(List.of(new Conf("b", 1)), appliedConfigs);
            assertTrue(r.last().contains("(file changed)"), r.last());
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            throw new ConfigError("", "cannot read " + file);
        }
    }

    @Test
    void watchSettingsAreReadFromTheReloadSectionAndBounded() {
        io.helidon.config.Config on = io.helidon.config.Config.just(io.helidon.config.ConfigSources.create(
                "reload: { watch: true, interval: PT0.5S }", io.helidon.common.media.type.MediaTypes.APPLICATION_X_YAML));
        assertEquals(new ConfigReloads.Settings(true, Duration.ofMillis(500)), ConfigReloads.Settings.from(on));
        io.helidon.config.Config tooFast = io.helidon.config.Config.just(io.helidon.config.ConfigSources.create(
                "reload: { watch: true, interval: PT0.01S }", io.helidon.common.media.type.MediaTypes.APPLICATION_X_YAML));
        assertEquals("reload.interval", org.junit.jupiter.api.Assertions.assertThrows(ConfigError.class,
                () -> ConfigReloads.Settings.from(tooFast)).key());
    }
}
