package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.GenerationListener;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.v1.Backend;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.worker.backend.cuda.Cuda;
import dev.tessera.worker.backend.cuda.CudaBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.ModelShard;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.verify.Golden;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The cluster unchanged on the CUDA backend: ZooKeeper, a coordinator and two workers whose stages compute through
 * {@link CudaBackend} (the FFM binding, device memory, every kernel), serving streamed requests. There is no GPU
 * where the tests run, so the workers load the kernels' host build (the same sources, run on the CPU); the same
 * cluster on a GPU is deploy/scripts/gpu/checks.sh's {@code cluster} stage.
 */
class CudaClusterIT {

    private static Cuda hostBuild() {
        String p = System.getProperty("tessera.cuda.host.library");
        if (p == null || !Files.isRegularFile(Path.of(p)))
            fail("the host build of the CUDA library is missing (-Dtessera.cuda.host.library=" + p + "); the worker module builds it");
        return Cuda.open(Path.of(p));
    }

    @Test
    void twoCudaStagesStreamTransformersGreedyTokens() throws Exception {
        Cuda cuda = hostBuild();
        Path tiny = TestModels.tiny();
        Golden golden = Golden.load(tiny.resolve("golden.safetensors"));
        int[] prompt = Arrays.copyOf(golden.inputIds(), golden.genPromptLen());
        LocalCluster.Options options = LocalCluster.Options.of(tiny, 2, () -> new CudaBackend(cuda, 0, 0.45), "cuda-host");
        try (LocalCluster cluster = LocalCluster.start(options, System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            // Each worker sized its KV pool from its share of the device less its weights (--kv-blocks not given).
            ModelConfig config = ModelConfig.load(tiny);
            try (Checkpoint ckpt = Checkpoint.open(tiny)) {
                for (Worker w : cluster.workers()) {
                    WorkerInfo info = ClusterIT.infoOverGrpc(w);
                    assertEquals(Backend.BACKEND_CUDA, info.getBackend(), w.id());
                    int layers = info.getLastLayer() - info.getFirstLayer();
                    long perBlock = CudaBackend.kvBytesPerBlock(layers, info.getKvBlockSize(), config.numKvHeads(), config.headDim());
                    long weights = ModelShard.weightBytes(ckpt, config, info.getFirstLayer(), info.getLastLayer());
                    long device = 256L << 20;  // what the host build reports, all free
                    long own = (long) (0.45 * device);
                    long expected = (own - weights - weights / 50 - own / 10) / perBlock;
                    assertEquals(expected, info.getKvCapacityBlocks(), w.id() + " KV blocks");
                }
            }

            List<Integer> streamed = new ArrayList<>();
            int[] chunks = {0};
            CompletableFuture<Completion> done = new CompletableFuture<>();
            client.generate(GenerateRequests.tokens(prompt).setSampling(GenerateRequests.greedy(golden.genTokens().length))
                    .setIgnoreStopTokens(true).setOmitText(true).build(), new GenerationListener() {
                @Override public void onChunk(GenerateResponse chunk) {
                    synchronized (streamed) {
                        streamed.addAll(chunk.getTokenIdsList());
                        chunks[0]++;
                    }
                }
                @Override public void onComplete(Completion completion) { done.complete(completion); }
                @Override public void onError(StatusRuntimeException error) { done.completeExceptionally(error); }
            });
            Completion c = done.get(120, TimeUnit.SECONDS);
            assertArrayEquals(golden.genTokens(), c.tokenIdArray(), "transformers' greedy tokens through two CUDA stages");
            synchronized (streamed) {
                assertArrayEquals(golden.genTokens(), streamed.stream().mapToInt(Integer::intValue).toArray());
                assertTrue(chunks[0] > 1, "tokens arrive as a stream, not in one message: " + chunks[0] + " chunk(s)");
            }
            for (Worker w : cluster.workers())
                assertEquals(0, ClusterIT.infoOverGrpc(w).getKvBlocksInUse(), w.id() + " freed the finished sequence's blocks");
        }
    }
}
