package dev.tessera.coordinator.engine;

import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.SequenceStep;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntUnaryOperator;

/**
 * A one-stage replica with no model, at the boundary of the coordinator under test: it keeps the per-sequence state
 * the pipeline contract asks for (block tables, finished ids) and "samples" {@code next(last token)}. Checks the
 * contract's rules a real stage checks, and counts what it holds so tests can see blocks freed.
 */
public final class FakeStage extends StageGrpc.StageImplBase {

    private final IntUnaryOperator next;
    public final Map<Long, Integer> blocksBySeq = new ConcurrentHashMap<>();
    public final Set<Long> everSeen = ConcurrentHashMap.newKeySet();
    public volatile String violation;
    public volatile int steps;
    /** Steps after this many wait for {@link #resume} (a stage that is slow to compute). */
    public volatile int pauseAfterSteps = Integer.MAX_VALUE;
    /** When set, every stream fails on its first step (a stage that is broken for this work). */
    public volatile boolean failStreams;
    public final java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);

    public FakeStage(IntUnaryOperator next) { this.next = next; }

    public int blocksInUse() { return blocksBySeq.values().stream().mapToInt(Integer::intValue).sum(); }

    @Override
    public StreamObserver<StepInput> forward(StreamObserver<StepOutput> out) {
        Map<Long, int[]> lastToken = new HashMap<>();
        return new StreamObserver<>() {
            @Override
            public void onNext(StepInput in) {
                if (++steps > pauseAfterSteps) {
                    try {
                        resume.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (failStreams) {
                    out.onError(io.grpc.Status.INTERNAL.withDescription("fake stage failure").asRuntimeException());
                    return;
                }
                for (long id : in.getFinishedSeqIdsList()) { blocksBySeq.remove(id); lastToken.remove(id); }
                StepOutput.Builder result = StepOutput.newBuilder().setStep(in.getStep()).setEpoch(in.getEpoch());
                for (SequenceStep s : in.getSeqsList()) {
                    everSeen.add(s.getSeqId());
                    if (s.getNewSequence()) blocksBySeq.put(s.getSeqId(), s.getBlockIdsCount());
                    else if (!blocksBySeq.containsKey(s.getSeqId())) violation = "unknown seq " + s.getSeqId() + " without new_sequence";
                    else blocksBySeq.merge(s.getSeqId(), s.getBlockIdsCount(), Integer::sum);
                    if (s.getSample())
                        result.addTokens(SampledToken.newBuilder().setSeqId(s.getSeqId())
                                .setTokenId(next.applyAsInt(s.getTokens(s.getTokensCount() - 1))));
                }
                out.onNext(result.build());
            }

            @Override
            public void onError(Throwable t) { blocksBySeq.clear(); }

            @Override
            public void onCompleted() {
                blocksBySeq.clear(); // sequence state is scoped to the stream
                out.onCompleted();
            }
        };
    }
}
