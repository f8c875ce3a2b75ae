package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.TesseraClient;
import dev.tessera.worker.backend.AttentionBatch;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.BackendLostException;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.checkpoint.Tensor;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.verify.Golden;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A worker whose device is lost mid-serving (on a GPU: a fault that leaves the CUDA context unusable) leaves the
 * cluster at once, and the requests it held finish on the other replica with the same tokens.
 */
class DeviceLostIT {

    /** A CPU backend whose device is "lost" once armed: every op from then on throws, as a dead CUDA context does. */
    static final class FakeLostBackend implements Backend {
        private final Backend inner;
        private final AtomicBoolean armed;

        FakeLostBackend(Backend inner, AtomicBoolean armed) {
            this.inner = inner;
            this.armed = armed;
        }

        private void check() {
            if (armed.get()) throw new BackendLostException("tc_synchronize failed (TC_DEVICE_LOST): an illegal memory access "
                    + "was encountered (cudaErrorIllegalAddress)");
        }

        @Override public String name() { return "cuda (fake, loses its device when armed)"; }
        @Override public Matrix matrix(Tensor t) { return inner.matrix(t); }
        @Override public Vec vec(Tensor t) { return inner.vec(t); }
        @Override public Experts experts(Tensor a, Tensor b, Tensor c, Tensor d, Tensor e, Tensor f) { return inner.experts(a, b, c, d, e, f); }
        @Override public Activations allocate(int rows, int cols) { return inner.allocate(rows, cols); }
        @Override public Activations upload(float[] data, int rows, int cols) { return inner.upload(data, rows, cols); }
        @Override public float[] download(Activations a) { check(); return inner.download(a); }
        @Override public KvCache allocateKv(int l, int b, int s, int h, int d) { return inner.allocateKv(l, b, s, h, d); }
        @Override public void embed(int[] tokens, Matrix table, Activations out) { inner.embed(tokens, table, out); }
        @Override public void rmsNorm(Activations x, Vec g, float eps, Activations out) { inner.rmsNorm(x, g, eps, out); }
        @Override public void linear(Activations x, Matrix w, Vec b, Activations out) { inner.linear(x, w, b, out); }
        @Override public void rope(Activations x, int hd, int[] p, float[] f, float c) { inner.rope(x, hd, p, f, c); }
        @Override public void writeKv(Activations k, Activations v, KvCache c, int l, int[] s) { inner.writeKv(k, v, c, l, s); }
        @Override public void attention(Activations q, KvCache c, int l, AttentionBatch b, Vec s, int w, float sc, Activations o) {
            check();
            inner.attention(q, c, l, b, s, w, sc, o);
        }
        @Override public void moe(Activations x, Moe m, Activations out) { inner.moe(x, m, out); }
        @Override public void gather(Activations x, int[] rows, Activations out) { inner.gather(x, rows, out); }
        @Override public void add(Activations x, Activations y) { inner.add(x, y); }
        @Override public void release(Activations a) { inner.release(a); }
        @Override public void close() { inner.close(); }
    }

    @Test
    void aLostDeviceTakesItsWorkerOutAndItsRequestsFinishElsewhere() throws Exception {
        Path tiny = TestModels.tiny();
        Golden golden = Golden.load(tiny.resolve("golden.safetensors"));
        int[] prompt = Arrays.copyOf(golden.inputIds(), golden.genPromptLen());
        AtomicBoolean armed = new AtomicBoolean();
        AtomicInteger made = new AtomicInteger();
        LocalCluster.Options options = LocalCluster.Options.of(tiny, 1, () -> made.getAndIncrement() == 0
                ? new FakeLostBackend(new CpuBackend(1), armed) : new CpuBackend(1), "cpu").withReplicas(2);
        try (LocalCluster cluster = LocalCluster.start(options, System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            assertEquals(2, cluster.workers().size());
            armed.set(true);
            List<CompletableFuture<Completion>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++)
                calls.add(client.complete(GenerateRequests.tokens(prompt).setSampling(GenerateRequests.greedy(golden.genTokens().length))
                        .setIgnoreStopTokens(true).setOmitText(true).build()));
            for (CompletableFuture<Completion> call : calls)
                assertArrayEquals(golden.genTokens(), call.get(90, TimeUnit.SECONDS).tokenIdArray(),
                        "a request on the lost worker finishes on the other replica, tokens unchanged");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            List<Worker> lost;
            do {
                lost = cluster.workers().stream().filter(w -> w.lost().toCompletableFuture().isDone()).toList();
                if (lost.isEmpty()) Thread.sleep(20);
            } while (lost.isEmpty() && System.nanoTime() < deadline);
            assertEquals(1, lost.size(), "the worker whose device was lost says so, once it has stopped");
            String reason = lost.getFirst().lost().toCompletableFuture().get();
            assertTrue(reason.contains("TC_DEVICE_LOST"), reason);
        }
    }
}
