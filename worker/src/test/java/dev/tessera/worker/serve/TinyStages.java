package dev.tessera.worker.serve;

import dev.tessera.proto.v1.InfoRequest;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.ModelShard;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.model.ModelConfig;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stages of the gpt-oss-tiny fixture, each a real {@link StageService} on its own in-process gRPC server, reaching
 * each other through in-process channels. Closing it stops every server, service, channel and shard it started.
 */
final class TinyStages implements AutoCloseable {

    private static final AtomicInteger RUN = new AtomicInteger();

    record Stage(String id, StageService service, Server server, ModelShard shard, Backend backend) {}

    final Path dir = Fixtures.tiny();
    final ModelConfig config;
    final String fingerprint;
    private final Checkpoint ckpt;
    private final List<Stage> stages = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    /**
     * @param bounds   layer boundaries, e.g. {0, 2, 4} for two stages of two layers
     * @param kvBlocks each stage's KV pool
     */
    TinyStages(int[] bounds, int[] kvBlocks, int kvBlockSize, int maxBatchTokens) throws Exception {
        config = ModelConfig.load(dir);
        ckpt = Checkpoint.open(dir);
        fingerprint = ModelFingerprint.of(dir, ckpt);
        int run = RUN.incrementAndGet();
        try {
            for (int k = 0; k + 1 < bounds.length; k++) {
                String id = "run" + run + "-s" + k;
                ShardSpec spec = new ShardSpec(bounds[k], bounds[k + 1], kvBlocks[k], kvBlockSize);
                Backend backend = new ScalarBackend();
                ModelShard shard = ModelShard.load(ckpt, config, spec, backend);
                StageService service = new StageService(StageIdentity.of(id, "gpt-oss-tiny", fingerprint, config, spec,
                        131072, maxBatchTokens, "scalar"), next -> InProcessChannelBuilder.forName(next.getAddress()).build());
                Server server = InProcessServerBuilder.forName(id).addService(service).build().start();
                service.listening(id, 1);
                service.ready(shard, backend.name());
                stages.add(new Stage(id, service, server, shard, backend));
            }
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    static TinyStages split(int... bounds) throws Exception {
        int[] blocks = new int[bounds.length - 1];
        java.util.Arrays.fill(blocks, 64);
        return new TinyStages(bounds, blocks, 4, 256);
    }

    Stage stage(int k) { return stages.get(k); }

    int size() { return stages.size(); }

    /** The route from stage {@code k} to the last. */
    PipelineRoute routeFrom(int k) {
        PipelineRoute.Builder r = PipelineRoute.newBuilder().setReplicaId("tiny/0").setModelFingerprint(fingerprint);
        for (int i = k; i < stages.size(); i++) {
            Stage s = stages.get(i);
            r.addStages(StageEndpoint.newBuilder().setWorkerId(s.id()).setAddress(s.id())
                    .setFirstLayer(s.shard().spec().firstLayer()).setLastLayer(s.shard().spec().lastLayer()));
        }
        return r.build();
    }

    PipelineRoute route() { return routeFrom(0); }

    /** A new channel to stage {@code k}, closed with this object. */
    synchronized ManagedChannel channel(int k) {
        ManagedChannel c = InProcessChannelBuilder.forName(stages.get(k).id()).build();
        channels.add(c);
        return c;
    }

    /** Stage {@code k}'s Info, over gRPC. */
    WorkerInfo info(int k) {
        return StageGrpc.newBlockingStub(channel(k)).withDeadlineAfter(5, TimeUnit.SECONDS).info(InfoRequest.getDefaultInstance());
    }

    /** Stops stage {@code k} at once, as a lost process: its server and its streams go. */
    void stop(int k) throws InterruptedException {
        Stage s = stages.get(k);
        s.server().shutdownNow();
        s.service().close();
        s.server().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    public synchronized void close() throws InterruptedException {
        for (ManagedChannel c : channels) c.shutdownNow();
        for (Stage s : stages) {
            s.server().shutdownNow();
            s.service().close();
            s.server().awaitTermination(5, TimeUnit.SECONDS);
            s.shard().close();
            s.backend().close();
        }
        for (ManagedChannel c : channels) c.awaitTermination(5, TimeUnit.SECONDS);
        ckpt.close();
    }
}
