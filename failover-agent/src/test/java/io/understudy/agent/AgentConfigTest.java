package io.understudy.agent;

import io.understudy.core.failover.FirstTokenDeadline;
import io.understudy.core.config.ConfigError;
import io.understudy.core.error.FailureException;
import io.understudy.core.routing.Requirement;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The agent's configuration as shipped, and the clear errors for keys that changed meaning. */
class AgentConfigTest {

    @Test
    void theShippedConfigHasTheDefaultRetryBudget() {
        AgentConfig config = AgentConfig.load("builtin:agent.yaml", Map.<String, String>of()::get);
        assertEquals(new io.understudy.core.failover.FailoverSettings.Budget(0.2, 10, Duration.ofSeconds(10)), config.retryBudget());
    }

    @Test
    void theReplacedMinRetriesKeyIsRefusedWithItsReplacementNamed() {
        ConfigError e = assertThrows(ConfigError.class, () -> AgentConfig.from(AgentHarness.yaml("""
                agent:
                  retry-budget: { ratio: 0.2, min-retries: 20 }
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                """), Map.<String, String>of()::get));
        assertEquals("agent.retry-budget.min-retries: replaced by reserve-per-second (retries per second always "
                + "allowed on top of the ratio; default 10)", e.getMessage());
    }

    /** Regression: a list key written with no items ({@code models:}) failed the start with a mapping exception. */
    @Test
    void aListKeyWithNoItemsIsAnEmptyListAndAScalarWhereAListBelongsIsNamed() {
        AgentConfig config = AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                models:
                """), Map.<String, String>of()::get);
        assertEquals(0, config.models().size());
        ConfigError e = assertThrows(ConfigError.class, () -> AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                models:
                  - model: "gpt-4o"
                    fallbacks: gpt-4o-mini
                """), Map.<String, String>of()::get));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("fallbacks") && e.getMessage().contains("must be a list"),
                e.getMessage());
    }

    @Test
    void theShippedAdaptiveFirstTokenWaitIsOnAndItsFloorIsChecked() {
        AgentConfig config = AgentConfig.load("builtin:agent.yaml", Map.<String, String>of()::get);
        config.tiers().forEach(t -> assertEquals(FirstTokenDeadline.Settings.SHIPPED, t.timeouts().adaptive(), t.name()));
        ConfigError e = assertThrows(ConfigError.class, () -> AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                    timeouts: { adaptive-first-token: { floor: PT0.01S } }
                """), Map.<String, String>of()::get));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("floor"), e.getMessage());
    }

    /**
     * The app's requirement, and every matching model rule's, hold together with the request's own:
     * a narrower rule written for timeouts does not drop a wider rule's requirement (the most
     * specific rule wins for everything else).
     */
    @Test
    void everyMatchingModelRulesRequirementHoldsWithTheAppsAndTheRequests() {
        AgentConfig config = AgentConfig.from(AgentHarness.yaml("""
                agent:
                  require: "region=eu|ch"
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                models:
                  - model: "gpt-*"
                    require: "retention=zero"
                  - model: "gpt-4o"
                    timeouts: { first-token: PT60S }
                """), Map.<String, String>of()::get);
        assertEquals("region=ch|eu,retention=zero", config.requirementFor(Requirement.NONE, "gpt-4o").toString());
        assertEquals("region=ch|eu", config.requirementFor(Requirement.NONE, "claude-3").toString());
        assertEquals("dpa=true,region=eu,retention=zero",
                config.requirementFor(Requirement.parse("region=eu,dpa=true"), "gpt-4o").toString());
        FailureException conflict = assertThrows(FailureException.class,
                () -> config.requirementFor(Requirement.parse("region=us"), "gpt-4o"));
        assertEquals(422, conflict.failure().httpStatus());
        assertTrue(conflict.failure().message().contains("region"), conflict.failure().message());
    }

    @Test
    void aMalformedRequireIsRefusedWithItsKeyNamed() {
        ConfigError e = assertThrows(ConfigError.class, () -> AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - name: primary
                    instances: [ { name: p, base-url: "http://127.0.0.1:9/v1" } ]
                models:
                  - model: "gpt-*"
                    require: "retention"
                """), Map.<String, String>of()::get));
        assertTrue(e.getMessage().startsWith("models.0.require: "), e.getMessage());
    }

    @Test
    void aModelRulesSloOverridesItsTiersAndARouteSloIsRefusedAtTheAgent() {
        AgentConfig config = AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - name: primary
                    kind: relay
                    slo: { p99-first-token: PT3S }
                    instances: [ { name: a, base-url: "http://127.0.0.1:1/v1", weight: 2 }, { name: b, base-url: "http://127.0.0.1:2/v1" } ]
                models:
                  - model: "gpt-4o*"
                    slo: { p99-first-token: PT1S, window: PT20S }
                """), Map.<String, String>of()::get);
        assertEquals(Duration.ofSeconds(1), config.sloFor("primary", "gpt-4o-mini").orElseThrow().p99FirstToken());
        assertEquals("gpt-4o*", config.sloFor("primary", "gpt-4o-mini").orElseThrow().name());
        assertEquals(Duration.ofSeconds(3), config.sloFor("primary", "o3").orElseThrow().p99FirstToken());
        assertEquals("tier primary", config.sloFor("primary", "o3").orElseThrow().name());
        assertEquals(2, config.tiers().get(0).instances().get(0).weight());
        ConfigError e = assertThrows(ConfigError.class, () -> AgentConfig.from(AgentHarness.yaml("""
                tiers:
                  - { name: direct, kind: direct }
                providers:
                  - { name: sim, kind: openai, base-url: "http://127.0.0.1:1/v1" }
                routes:
                  - model: "*"
                    slo: { p99-first-token: PT1S }
                    targets: [ { provider: sim } ]
                """), Map.<String, String>of()::get));
        assertTrue(e.getMessage().startsWith("routes.0.slo: at the agent, an slo belongs on a tier or on a models[] rule"), e.getMessage());
    }
}
