package dev.tessera.worker.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LatencyModelTest {

    @Test
    void aStepCostsBasePlusPerTokenPlusPerSequenceAndAStageItsShare() {
        LatencyModel m = new LatencyModel(12, 0.05, 0.2, "test");
        assertEquals(12 + 0.05 * 100 + 0.2 * 4, m.stepMillis(100, 4), 1e-9);
        assertEquals(Math.round((12 + 0.05 + 0.2) * 1e6), m.stepNanos(1, 1, 1.0));
        assertEquals(Math.round((12 + 0.05 * 16 + 0.2 * 16) * 1e6 / 4), m.stepNanos(16, 16, 0.25));
        assertThrows(IllegalArgumentException.class, () -> m.stepNanos(1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> m.stepNanos(1, 1, 1.5));
    }

    @Test
    void describesItselfForReportsAndRoundTripsThroughTheFlag() {
        LatencyModel m = new LatencyModel(12, 0.05, 0.2, "calibrated from a test");
        assertEquals("sim latency: 12.0 ms + 0.050 ms/token + 0.20 ms/sequence per step (calibrated from a test)", m.describe());
        assertEquals("12,0.05,0.2", m.flag());
        assertEquals(m.withSource("given with --sim-latency"), LatencyModel.parse(m.flag(), "given with --sim-latency"));
        LatencyModel d = LatencyModel.parse(LatencyModel.DEFAULT.flag(), "x");
        assertEquals(LatencyModel.DEFAULT.baseMs(), d.baseMs(), 1e-4);
        assertEquals(LatencyModel.DEFAULT.perTokenMs(), d.perTokenMs(), 1e-4);
        assertEquals(LatencyModel.DEFAULT.perSequenceMs(), d.perSequenceMs(), 1e-4);
        assertTrue(LatencyModel.DEFAULT.describe().contains("calibrated"), LatencyModel.DEFAULT.describe());
        assertEquals(new LatencyModel(1.5, 0, 3, "x"), LatencyModel.parse(" 1.5, 0 ,3", "x"));
    }

    @Test
    void refusesWhatIsNotThreeNonNegativeNumbers() {
        for (String bad : new String[] {"", "1,2", "1,2,3,4", "a,b,c", "1,-2,3", "1,NaN,3", "1,Infinity,3"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LatencyModel.parse(bad, "x"), bad);
            assertTrue(!e.getMessage().isBlank());
        }
        assertThrows(IllegalArgumentException.class, () -> new LatencyModel(1, 1, 1, " "));
    }
}
