package dev.tessera.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {

    private static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2), -50f};

    @Test
    void greedyTakesTheLargestAndBreaksTiesTowardTheLowerId() {
        assertEquals(0, Sampler.sample(LOGITS, 0, 4, SamplingParams.GREEDY, 0).token());
        assertEquals(1, Sampler.sample(new float[] {0f, 3f, 3f}, 0, 3, SamplingParams.GREEDY, 0).token());
        assertEquals(2, Sampler.sample(new float[] {9f, 0f, 1f, 3f, 3f}, 1, 4, SamplingParams.GREEDY, 0).token(),
                "offset rows are read from their offset");
    }

    @Test
    void temperatureOneDrawsInProportionToTheProbabilities() {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 1234);
        int[] counts = new int[4];
        int n = 40_000;
        for (int i = 0; i < n; i++) counts[Sampler.sample(LOGITS, 0, 4, p, i).token()]++;
        assertEquals(0.5, counts[0] / (double) n, 0.015);
        assertEquals(0.3, counts[1] / (double) n, 0.015);
        assertEquals(0.2, counts[2] / (double) n, 0.015);
        assertEquals(0, counts[3]);
    }

    @Test
    void candidatesAreOrderedByLogitThenIdAcrossSignsAndTies() {
        float[] logits = {-1f, 2f, -0.0f, 2f, 0.0f, -3f};
        for (int i = 0; i < 200; i++)
            assertEquals(1, Sampler.sample(logits, 0, 6, new SamplingParams(1f, 1, 1f, 7), i).token(), "top-1: the lower id of a tie");
        float[] zeros = {0.0f, -0.0f, -0.5f, 0.0f};
        for (int i = 0; i < 500; i++) {
            int t = Sampler.sample(zeros, 0, 4, new SamplingParams(1f, 3, 1f, 7), i).token();
            assertTrue(t != 2, "top-3 is 0.0 (ids 0, 3), then -0.0 (id 1): -0.5 is cut");
        }
        // Near-flat logits over the whole vocabulary (random weights): every id is a candidate, sampled quickly.
        float[] flat = new float[201_088];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < flat.length; i++) flat[i] = (float) r.nextGaussian() * 0.01f;
        int[] seen = new int[2];
        for (int i = 0; i < 50; i++) seen[Sampler.sample(flat, 0, flat.length, new SamplingParams(1f, 0, 1f, 9), i).token() < 100_544 ? 0 : 1]++;
        assertTrue(seen[0] > 10 && seen[1] > 10, java.util.Arrays.toString(seen));
    }

    @Test
    void topKAndTopPCutTheTail() {
        int[] counts = new int[4];
        for (int i = 0; i < 5000; i++) counts[Sampler.sample(LOGITS, 0, 4, new SamplingParams(1f, 2, 1f, 9), i).token()]++;
        assertEquals(0, counts[2], "top-k 2 never draws the third token");
        assertTrue(counts[1] > 1500, "top-k 2 renormalises: 0.3/0.8 of the draws");
        for (int i = 0; i < 200; i++)
            assertEquals(0, Sampler.sample(LOGITS, 0, 4, new SamplingParams(1f, 0, 0.4f, 9), i).token(),
                    "top-p 0.4 keeps only the 0.5 token");
        int[] nucleus = new int[4];
        for (int i = 0; i < 5000; i++) nucleus[Sampler.sample(LOGITS, 0, 4, new SamplingParams(1f, 0, 0.75f, 9), i).token()]++;
        assertEquals(0, nucleus[2], "top-p 0.75 keeps 0.5 + 0.3");
        assertTrue(nucleus[1] > 1500);
    }

    @Test
    void theSameSeedAndIndexGiveTheSameToken() {
        SamplingParams p = new SamplingParams(0.8f, 0, 0.95f, 77);
        float[] logits = new float[1000];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i * 0.37) * 3;
        for (int i = 0; i < 50; i++) {
            Sampler.Choice a = Sampler.sample(logits, 0, 1000, p, i), b = Sampler.sample(logits, 0, 1000, p, i);
            assertEquals(a, b);
        }
        int differ = 0;
        for (int i = 0; i < 50; i++)
            if (Sampler.sample(logits, 0, 1000, p, i).token() != Sampler.sample(logits, 0, 1000, new SamplingParams(0.8f, 0, 0.95f, 78), i).token()) differ++;
        assertTrue(differ > 10, "another seed draws other tokens");
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(-1f, 0, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1f, -1, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1f, 0, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Float.NaN, 0, 1f, 0));
    }
}
