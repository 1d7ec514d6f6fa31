package io.understudy.relay;

import io.understudy.core.failover.FailoverSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The relay configs shipped in config/ load, and say what the docs say. */
class RelayConfigTest {

    @Test
    void theShippedFailoverSettingsAreTheDocumentedOnes() {
        RelayConfig config = RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get);
        FailoverSettings.Engine failover = config.failover();
        assertEquals(1, failover.retries().sameUpstream());
        assertEquals(Duration.ofMillis(100), failover.retries().backoff());
        assertEquals(new FailoverSettings.Budget(0.2, 10, Duration.ofSeconds(10)), failover.budget());
        assertEquals(new FailoverSettings.Breaker(3, 50, 10, Duration.ofSeconds(10), Duration.ofSeconds(5), 2), failover.breaker());
        assertEquals(Duration.ZERO, failover.maxRetryAfterWait(), "a relay passes Retry-After on; its caller waits");
        assertEquals(Duration.ofSeconds(60), config.rehearsal(), "a relay process rehearses 60 s at most");
    }

    @Test
    void theLiveConfigLoadsWithItsDefaults() {
        RelayConfig live = RelayConfig.load("builtin:primary-live.yaml", Map.<String, String>of()::get);
        assertEquals(RelayConfig.load("builtin:primary.yaml", Map.<String, String>of()::get).failover(), live.failover(),
                "the same failover defaults, written or not");
    }

    /** The standby takes the primary's traffic when it leads: its shipped configs serve exactly what the primary's do. */
    @Test
    void theShippedStandbyConfigsServeWhatThePrimaryOnesServe() {
        for (String variant : new String[] {".yaml", "-live.yaml"}) {
            RelayConfig primary = RelayConfig.load("builtin:primary" + variant, Map.<String, String>of()::get);
            RelayConfig standby = RelayConfig.load("builtin:standby" + variant, Map.<String, String>of()::get);
            assertEquals(RelayConfig.Role.STANDBY, standby.role());
            assertEquals("standby-1", standby.instance());
            assertEquals(8082, standby.port());
            assertEquals(primary.providers(), standby.providers(), variant);
            assertEquals(primary.routes(), standby.routes(), variant);
            assertEquals(primary.prices(), standby.prices(), variant);
            assertEquals(primary.failover(), standby.failover(), variant);
            assertEquals(primary.etcd(), standby.etcd(), variant);
            assertEquals(primary.clientKeys(), standby.clientKeys(), variant);
        }
    }
}
