package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.sim.LatencyModel;
import dev.tessera.worker.sim.SimModel;
import dev.tessera.worker.sim.SimulatedShard;
import dev.tessera.worker.sim.Simulation;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A cluster of simulated workers end to end: `up --backend sim` as LocalCluster runs it (the gpt-oss-120b shape, no
 * checkpoint), 2 replicas of 2 stages over real gRPC and ZooKeeper, driven through the Java client.
 */
class SimulatedClusterIT {

    private static final LatencyModel LATENCY = new LatencyModel(4, 0.02, 0.1, "test");
    private static final int REQUESTS = 16;

    private record Workload(int[][] prompts, SamplingParams[] sampling) {}

    /** Greedy requests, and every fourth a seeded draw with two alternatives' log-probabilities. */
    private static Workload workload() {
        Random random = new Random(7);
        int[][] prompts = new int[REQUESTS][];
        SamplingParams[] sampling = new SamplingParams[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            prompts[i] = random.ints(5 + random.nextInt(26), 0, 200_000).toArray();
            int n = 20 + random.nextInt(30);
            sampling[i] = i % 4 == 3
                    ? GenerateRequests.sampling(1f, n).toBuilder().setSeed(1000 + i).setTopLogprobs(2).build()
                    : GenerateRequests.greedy(n);
        }
        return new Workload(prompts, sampling);
    }

    /** What the simulation gives for one request, computed in this process by one stage holding every layer. */
    private static int[] alone(int[] prompt, SamplingParams p) {
        SimulatedShard whole = new SimulatedShard(SimModel.preset(Simulation.DEFAULT_PRESET).config(),
                new ShardSpec(0, 36, 8, 16), new LatencyModel(0, 0, 0, "none"));
        dev.tessera.worker.engine.SamplingParams sampling = new dev.tessera.worker.engine.SamplingParams(p.getTemperature(), 0, 1f, p.getSeed());
        int[] table = {0, 1, 2, 3, 4, 5};
        int[] out = new int[p.getMaxTokens()];
        ShardOutput o = whole.forward(ShardStep.of(List.of(new SequenceChunk(1, prompt, 0, table, true, sampling))));
        for (int i = 0; i < out.length; i++) {
            out[i] = o.sampled().getFirst().token();
            if (i + 1 < out.length)
                o = whole.forward(ShardStep.of(List.of(new SequenceChunk(1, new int[] {out[i]}, prompt.length + i, table, true, sampling))));
        }
        return out;
    }

    /** Runs the workload concurrently on a fresh simulated cluster; returns each request's tokens. */
    private static int[][] runCluster(Workload w) throws Exception {
        // NOTE: 16 blocks of 16 tokens per replica hold 4 of these sequences at full length, so the coordinator must
        // preempt and recompute some of them: the stand-in tokens must come out the same all the same.
        LocalCluster.Options o = LocalCluster.Options.simulated(null, 2, Simulation.of(LATENCY)).withReplicas(2).withKv(16, 16);
        try (LocalCluster cluster = LocalCluster.start(o, System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            List<ModelInfo> models = client.listModels();
            assertEquals(1, models.size());
            ModelInfo m = models.getFirst();
            assertEquals("gpt-oss-120b", m.getName());
            assertTrue(m.getSimulated(), "ListModels says simulated");
            assertEquals(LATENCY.describe(), m.getLatencyModel());
            assertEquals(2, m.getReadyReplicas());
            assertTrue(m.getFingerprint().startsWith("sim-"), m.getFingerprint());

            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                GenerateRequest req = GenerateRequests.tokens(w.prompts()[i]).setSampling(w.sampling()[i])
                        .setIgnoreStopTokens(true).setOmitText(true).build();
                futures.add(client.complete(req));
            }
            int[][] tokens = new int[REQUESTS][];
            int preemptions = 0;
            for (int i = 0; i < REQUESTS; i++) {
                Completion c = futures.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(FinishReason.FINISH_REASON_LENGTH, c.finishReason(), "request " + i + ": " + c.error());
                tokens[i] = c.tokenIdArray();
                preemptions += c.usage().getPreemptions();
                if (w.sampling()[i].getTopLogprobs() > 0) {
                    assertEquals(tokens[i].length, c.logprobs().size());
                    assertEquals(2, c.logprobs().getFirst().getTopLogprobsCount());
                    assertTrue(c.logprobs().getFirst().getLogprob() < 0);
                }
            }
            assertTrue(preemptions > 0, "the small KV pools made the coordinator preempt");

            TesseraMainTest.Run status = TesseraMainTest.run("cluster", "status", "--zookeeper", cluster.zkConnect());
            assertEquals(0, status.exit(), status.err());
            assertTrue(status.out().contains("SIMULATED: 4 of 4 workers do no model math (" + LATENCY.describe() + ")"), status.out());
            assertTrue(status.out().contains("replicas: 2"), status.out());
            for (Worker wk : cluster.workers())
                await(() -> ClusterIT.infoOverGrpc(wk).getKvBlocksInUse() == 0, wk.id() + " to free every block");
            return tokens;
        }
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void sixtyFourWorkersOfSixteenReplicasRunInOneProcess() throws Exception {
        // NOTE: 64 workers and a coordinator each hold a ZooKeeper session from 127.0.0.1, past ZooKeeper's default
        // limit of 60 connections per address.
        LocalCluster.Options o = LocalCluster.Options.simulated(null, 4, Simulation.of(LATENCY)).withReplicas(16);
        try (LocalCluster cluster = LocalCluster.start(o, System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            assertEquals(64, cluster.workers().size());
            assertEquals(16, client.listModels().getFirst().getReadyReplicas());
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (int i = 0; i < 48; i++)
                futures.add(client.complete(GenerateRequests.tokens(200006, 1428 + i, 200008).setSampling(GenerateRequests.greedy(8))
                        .setIgnoreStopTokens(true).setOmitText(true).build()));
            for (int i = 0; i < 48; i++) {
                Completion c = futures.get(i).get(60, TimeUnit.SECONDS);
                assertArrayEquals(alone(new int[] {200006, 1428 + i, 200008}, GenerateRequests.greedy(8)), c.tokenIdArray(), "request " + i);
            }
        }
    }

    @Test
    void concurrentRequestsGiveTheSimulationsTokensInEveryRunAndTheClusterSaysItIsSimulated() throws Exception {
        Workload w = workload();
        int[][] first = runCluster(w);
        int[][] second = runCluster(w);
        for (int i = 0; i < REQUESTS; i++) {
            assertEquals(w.sampling()[i].getMaxTokens(), first[i].length);
            assertArrayEquals(alone(w.prompts()[i], w.sampling()[i]), first[i], "request " + i + " against one stage alone");
            assertArrayEquals(first[i], second[i], "request " + i + " in a second cluster");
            for (int t : first[i]) assertTrue(t < SimulatedShard.FIRST_SPECIAL_TOKEN, "request " + i + " got special token " + t);
        }
    }
}
