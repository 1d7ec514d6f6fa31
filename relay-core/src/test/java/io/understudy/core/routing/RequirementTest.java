package io.understudy.core.routing;

import io.understudy.core.error.Failure;
import io.understudy.core.error.FailureException;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing a request's requirement, and matching it against a provider's tags. */
class RequirementTest {
    private static final Map<String, String> EU_ZERO = Map.of("region", "eu", "retention", "zero", "dpa", "true");

    @Test
    void everyKeyMustMatchAndAKeyMayAllowAlternatives() {
        Requirement eu = Requirement.parse("region=eu, retention=zero");
        assertTrue(eu.admits(EU_ZERO));
        assertFalse(eu.admits(Map.of("region", "eu")), "retention missing");
        assertTrue(Requirement.parse("region=ch|eu").admits(EU_ZERO));
        assertFalse(Requirement.parse("region=ch|us").admits(EU_ZERO));
        assertTrue(Requirement.NONE.admits(Map.of()), "no requirement admits an untagged provider");
    }

    @Test
    void aProviderWithoutTheTagDoesNotMeetIt() {
        Requirement eu = Requirement.parse("region=eu,retention=zero");
        assertEquals(Optional.of("no region tag, no retention tag"), eu.unmet(Map.of()));
        assertEquals(Optional.of("region is us, not eu"), eu.unmet(Map.of("region", "us", "retention", "zero")));
    }

    @Test
    void theCanonicalFormSortsKeysAndAlternativesAndReadsBack() {
        Requirement r = Requirement.parse(" Retention=ZERO , region=eu|ch ");
        assertEquals("region=ch|eu,retention=zero", r.toString());
        assertEquals(r, Requirement.parse(r.toString()));
        assertTrue(Requirement.parse("  ").isNone());
    }

    @Test
    void aMalformedHeaderIsTheClientsErrorNeverNoRequirement() {
        for (String bad : new String[]{"region", "region=", "=eu", "region=eu,region=ch", "region=e u", "région=eu", "a=b,".repeat(200)}) {
            FailureException e = assertThrows(FailureException.class, () -> Requirement.fromHeader(Optional.of(bad)), bad);
            Failure.ClientError c = (Failure.ClientError) e.failure();
            assertEquals(400, c.status(), bad);
            assertTrue(c.message().contains("x-understudy-require"), c.message());
        }
        assertTrue(Requirement.fromHeader(Optional.empty()).isNone());
    }

    @Test
    void twoRequirementsHoldTogetherAndAKeyLeftWithNoValueIsNamed() {
        Requirement app = Requirement.parse("region=eu|ch");
        assertEquals("region=eu,retention=zero", app.and(Requirement.parse("region=eu,retention=zero")).toString());
        assertEquals("region=ch|eu", app.and(Requirement.NONE).toString());
        assertEquals("region=ch|eu", Requirement.NONE.and(app).toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> app.and(Requirement.parse("region=us")));
        assertTrue(e.getMessage().contains("leave no region allowed"), e.getMessage());
    }
}
