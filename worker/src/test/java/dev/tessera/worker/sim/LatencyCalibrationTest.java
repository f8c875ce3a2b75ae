package dev.tessera.worker.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyCalibrationTest {

    /** Samples of the default shapes priced by {@code truth}, each scaled by {@code 1 + noise[i]}. */
    private static List<LatencyCalibration.Sample> samples(LatencyModel truth, double... noise) {
        List<LatencyCalibration.Sample> out = new ArrayList<>();
        int i = 0;
        for (LatencyCalibration.Shape s : LatencyCalibration.DEFAULT_SHAPES) {
            double ms = truth.stepMillis(s.tokens(), s.sequences()) * (1 + (noise.length == 0 ? 0 : noise[i++ % noise.length]));
            out.add(new LatencyCalibration.Sample(s.tokens(), s.sequences(), ms));
        }
        return out;
    }

    @Test
    void recoversTheConstantsOfExactlyLinearSteps() {
        LatencyModel truth = new LatencyModel(12, 0.05, 0.2, "truth");
        LatencyCalibration.Fit fit = LatencyCalibration.fit(samples(truth), "fitted");
        assertEquals(12, fit.model().baseMs(), 1e-6);
        assertEquals(0.05, fit.model().perTokenMs(), 1e-9);
        assertEquals(0.2, fit.model().perSequenceMs(), 1e-9);
        assertEquals("fitted", fit.model().source());
        assertTrue(fit.maxRelativeError() < 1e-9);
        assertEquals(LatencyCalibration.DEFAULT_SHAPES.size(), fit.table().size());
    }

    @Test
    void fitsNoisyStepsWithinTheNoise() {
        LatencyModel truth = new LatencyModel(40, 7, 15, "truth");
        LatencyCalibration.Fit fit = LatencyCalibration.fit(samples(truth, 0.04, -0.03, 0.05, -0.05, 0.02, -0.04, 0.03, 0.0), "fitted");
        assertEquals(40, fit.model().baseMs(), 40 * 0.25);
        assertEquals(7, fit.model().perTokenMs(), 7 * 0.1);
        assertEquals(15, fit.model().perSequenceMs(), 15 * 0.25);
        assertTrue(fit.rmsRelativeError() < 0.05, "rms " + fit.rmsRelativeError());
        assertTrue(fit.maxRelativeError() < 0.08, "max " + fit.maxRelativeError());
    }

    @Test
    void keepsEveryCoefficientNonNegative() {
        // Steps that get cheaper with more sequences: least squares alone would give a negative per-sequence cost.
        List<LatencyCalibration.Sample> s = List.of(new LatencyCalibration.Sample(32, 1, 40),
                new LatencyCalibration.Sample(32, 32, 30), new LatencyCalibration.Sample(64, 1, 80),
                new LatencyCalibration.Sample(64, 64, 60), new LatencyCalibration.Sample(1, 1, 2));
        LatencyModel m = LatencyCalibration.fit(s, "x").model();
        assertTrue(m.baseMs() >= 0 && m.perTokenMs() >= 0 && m.perSequenceMs() >= 0, m.describe());
        assertEquals(0, m.perSequenceMs());
    }

    @Test
    void refusesSamplesThatCannotSeparateTheTerms() {
        List<LatencyCalibration.Sample> decodeOnly = List.of(new LatencyCalibration.Sample(1, 1, 80),
                new LatencyCalibration.Sample(4, 4, 190), new LatencyCalibration.Sample(16, 16, 800));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LatencyCalibration.fit(decodeOnly, "x"));
        assertTrue(e.getMessage().contains("prefill"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LatencyCalibration.fit(decodeOnly.subList(0, 2), "x"));
        assertThrows(IllegalArgumentException.class, () -> new LatencyCalibration.Sample(1, 2, 5));
    }

    @Test
    void timesEachShapeOnTheEngine() throws Exception {
        ModelConfig config = ModelConfig.load(Fixtures.tiny());
        List<LatencyCalibration.Shape> shapes = List.of(new LatencyCalibration.Shape(2, 1, 5), new LatencyCalibration.Shape(1, 6, 0));
        List<String> lines = new ArrayList<>();
        try (Checkpoint ckpt = Checkpoint.open(Fixtures.tiny());
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, 1, 8, 4, ScalarBackend::new)) {
            BlockPool pool = new BlockPool(8, 4);
            List<LatencyCalibration.Sample> samples = LatencyCalibration.measure(pipeline, pool, config.vocabSize(), shapes, 3, lines::add);
            assertEquals(2, samples.size());
            assertEquals(2, samples.get(0).tokens());
            assertEquals(2, samples.get(0).sequences());
            assertEquals(6, samples.get(1).tokens());
            assertEquals(1, samples.get(1).sequences());
            assertTrue(samples.stream().allMatch(x -> x.millis() > 0));
            assertEquals(8, pool.freeBlocks(), "every block given back");
        }
        assertEquals(2, lines.size());
        assertTrue(lines.getFirst().startsWith("decode, batch 2 at position 5"), lines.getFirst());
    }
}
