package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Arrivals, lengths and workloads: the right rates and shapes, reproducible from a seed. */
class WorkloadTest {

    @Test
    void poissonAndGammaArrivalsHaveTheRateAndTheBurstinessAsked() {
        for (double burstiness : new double[] {1, 0.25, 4}) {
            ArrivalProcess a = new ArrivalProcess(20, burstiness);
            Random random = new Random(1);
            int n = 200_000;
            double sum = 0, sumSq = 0;
            for (int i = 0; i < n; i++) {
                double g = a.nextGapSeconds(random);
                assertTrue(g >= 0);
                sum += g;
                sumSq += g * g;
            }
            double mean = sum / n, cv2 = (sumSq / n - mean * mean) / (mean * mean);
            assertEquals(1 / 20.0, mean, 0.02 / 20, "mean gap at burstiness " + burstiness);
            // A gamma's squared coefficient of variation is 1 / shape: 1 for Poisson, 4 when bursty, 1/4 when regular.
            assertEquals(1 / burstiness, cv2, 0.05 / burstiness, "burstiness " + burstiness);
        }
        assertThrows(IllegalArgumentException.class, () -> new ArrivalProcess(0, 1));
    }

    @Test
    void lengthsParseAndDraw() {
        assertEquals(new LengthDistribution.Fixed(128), LengthDistribution.parse("128"));
        assertEquals(new LengthDistribution.Uniform(100, 300), LengthDistribution.parse("uniform:100:300"));
        assertEquals(new LengthDistribution.Normal(200, 50), LengthDistribution.parse("normal:200:50"));
        assertThrows(IllegalArgumentException.class, () -> LengthDistribution.parse("uniform:300:100"));
        assertThrows(IllegalArgumentException.class, () -> LengthDistribution.parse("lots"));
        Random r = new Random(3);
        for (int i = 0; i < 1000; i++) {
            int v = LengthDistribution.parse("uniform:5:9").draw(r);
            assertTrue(v >= 5 && v <= 9);
            assertTrue(LengthDistribution.parse("normal:2:50").draw(r) >= 1);
        }
    }

    @Test
    void syntheticPromptsAreReproducibleAndShareTheirPrefix() {
        SyntheticWorkload w = new SyntheticWorkload(LengthDistribution.parse("uniform:20:40"), new LengthDistribution.Fixed(8), 10, 512, false, 99);
        LoadRequest a = w.next(0, new Random(5)), b = w.next(0, new Random(5)), c = w.next(1, new Random(6));
        assertArrayEquals(a.promptIds(), b.promptIds());
        assertEquals(a.promptIds().length, a.promptTokens());
        assertArrayEquals(java.util.Arrays.copyOf(a.promptIds(), 10), java.util.Arrays.copyOf(c.promptIds(), 10));
        assertTrue(java.util.Arrays.stream(c.promptIds()).allMatch(id -> id >= 0 && id < 512));
        LoadRequest text = new SyntheticWorkload(new LengthDistribution.Fixed(50), new LengthDistribution.Fixed(8), 0, 512, true, 1).next(0, new Random(1));
        assertEquals(50, text.promptTokens(), "each word is one o200k token");
    }

    @Test
    void shareGptConversationsGivePromptsAndOutputLengths(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("data.jsonl");
        Files.writeString(jsonl, """
                {"id": "a", "conversations": [{"from": "human", "value": "Write a short poem about the sea and the wind."}, {"from": "gpt", "value": "The sea is wide, the wind is free, and both of them belong to me."}]}
                {"id": "b", "conversations": [{"from": "gpt", "value": "starts with the model, skipped"}, {"from": "human", "value": "x"}]}
                {"id": "c", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "too short a prompt, skipped"}]}
                """);
        ShareGptWorkload w = ShareGptWorkload.load(jsonl, 0, 0, 0);
        assertEquals(1, w.size());
        LoadRequest r = w.next(0, new Random());
        assertEquals("Write a short poem about the sea and the wind.", r.promptText());
        assertEquals(PromptTokens.count(r.promptText()), r.promptTokens());
        assertEquals(PromptTokens.count("The sea is wide, the wind is free, and both of them belong to me."), r.outputTokens());
        Path array = dir.resolve("data.json");
        Files.writeString(array, "[" + Files.readAllLines(jsonl).getFirst() + "]");
        assertEquals(1, ShareGptWorkload.load(array, 0, 0, 0).size(), "the original ShareGPT layout: one JSON array");
        assertEquals(5, ShareGptWorkload.load(array, 0, 0, 5).next(0, new Random()).outputTokens(), "capped");
    }
}
