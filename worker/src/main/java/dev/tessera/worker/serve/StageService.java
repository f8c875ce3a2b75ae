package dev.tessera.worker.serve;

import com.google.protobuf.Timestamp;
import dev.tessera.proto.v1.Backend;
import dev.tessera.proto.v1.InfoRequest;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import dev.tessera.worker.engine.StageModel;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Stage service of one worker (pipeline.proto): Forward runs steps through this stage and the ones after it,
 * Info describes the worker.
 *
 * <p>One upstream Forward stream at a time. A new stream's first StepInput is checked (epoch &gt; 0, route) and then
 * admitted: refused with UNAVAILABLE unless the worker is READY, refused with FAILED_PRECONDITION if its epoch is older
 * than the newest this worker has seen ({@link EpochFence}), and otherwise it supersedes the current stream, which is
 * closed with ABORTED. A rise of the fence (a newer stream, or the epoch node in ZooKeeper) closes a current stream
 * of an older epoch with FAILED_PRECONDITION.
 *
 * <p>Lifecycle: LOADING (Info answers, Forward is refused) → {@link #ready} → READY → {@link #drain} → DRAINING (the
 * current stream runs on, new ones are refused) → {@link #close}.
 *
 * <p>Thread safety: all methods may be called from any thread; admission and the current stream are guarded by this
 * object's monitor. Lock order: this service, then a session's monitor only through {@link ForwardSession#close},
 * which is never called while holding it.
 */
public final class StageService extends StageGrpc.StageImplBase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StageService.class);

    /** Steps a stream may have received and not yet handed to the compute thread. */
    static final int INBOUND_WINDOW = 2;

    /**
     * Longest a step waits for the next stage to take it, or for its answers to make room, before the stream is
     * closed with UNAVAILABLE. NOTE: generous, because a CPU stage can spend minutes on one long prefill chunk.
     */
    static final Duration STALL_TIMEOUT = Duration.ofMinutes(10);

    private static final Duration COMPUTE_STOP_TIMEOUT = Duration.ofSeconds(30);

    private final StageIdentity identity;
    private final StageChannels channels;
    private final StepPlanner planner;
    private final StageCompute compute;
    private final EpochFence fence = new EpochFence(this::onEpochRaised);
    private final Timestamp startedAt;
    private volatile WorkerState state = WorkerState.WORKER_STATE_LOADING;
    private volatile Backend backend = Backend.BACKEND_UNSPECIFIED;
    private volatile String host = "";
    private volatile int port;
    private volatile boolean computeStopped;
    private ForwardSession current;   // guarded by this

    /** A stage that is LOADING; {@link #ready} makes it serve. */
    public StageService(StageIdentity identity, StageChannels channels) {
        this.identity = identity;
        this.channels = channels;
        this.planner = new StepPlanner(identity);
        this.compute = new StageCompute(identity);
        Instant now = Instant.now();
        this.startedAt = Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
    }

    public StageIdentity identity() { return identity; }

    public EpochFence fence() { return fence; }

    public WorkerState state() { return state; }

    /** Where the service listens, as WorkerInfo reports it. */
    public void listening(String host, int port) {
        this.host = host;
        this.port = port;
    }

    /**
     * Serves {@code shard} from now on (LOADING → READY). The shard must match the identity (layers, KV pool, hidden
     * width), be warmed up, and from now on be touched by the compute thread only.
     *
     * @param backendName the backend's {@link dev.tessera.worker.backend.Backend#name()}, for WorkerInfo.backend
     */
    public synchronized void ready(StageModel shard, String backendName) {
        if (state != WorkerState.WORKER_STATE_LOADING) throw new IllegalStateException("stage " + identity.workerId() + " is " + state);
        if (shard.spec().firstLayer() != identity.firstLayer() || shard.spec().lastLayer() != identity.lastLayer()
                || shard.spec().kvBlocks() != identity.kvBlocks() || shard.spec().kvBlockSize() != identity.kvBlockSize()
                || shard.hiddenWidth() != identity.hiddenSize())
            throw new IllegalArgumentException("shard " + shard.spec() + " does not match stage " + identity);
        // NOTE: by prefix: a backend's name may say more ("cuda (NVIDIA H100 80GB HBM3)").
        String kind = backendName.split("[ (-]", 2)[0];
        backend = switch (kind) {
            case "cpu", "scalar" -> Backend.BACKEND_CPU;
            case "cuda" -> Backend.BACKEND_CUDA;
            case "sim" -> Backend.BACKEND_SIM;
            default -> Backend.BACKEND_UNSPECIFIED;
        };
        compute.start(shard);
        state = WorkerState.WORKER_STATE_READY;
    }

    /** READY → DRAINING: the current stream runs on; new streams are refused with UNAVAILABLE. */
    public void drain() {
        if (state == WorkerState.WORKER_STATE_READY) state = WorkerState.WORKER_STATE_DRAINING;
    }

    /** This worker as Info reports it now. */
    public WorkerInfo info() {
        ForwardSession s;
        synchronized (this) {
            s = current;
        }
        SequenceTable live = s == null ? null : s.sequences();
        return WorkerInfo.newBuilder()
                .setWorkerId(identity.workerId()).setHost(host).setPort(port)
                .setModel(identity.model()).setModelFingerprint(identity.fingerprint())
                .setFirstLayer(identity.firstLayer()).setLastLayer(identity.lastLayer()).setNumLayers(identity.numLayers())
                .setBackend(backend).setDevice(identity.device())
                .setKvBlockSize(identity.kvBlockSize()).setKvCapacityBlocks(identity.kvBlocks())
                .setMaxBatchTokens(identity.maxBatchTokens())
                .setState(state).setStartedAt(startedAt).setEpoch(fence.newest()).setVersion(Versions.WORKER)
                .setKvBlocksInUse(live == null ? 0 : (int) Math.min(live.blocksInUse(), Integer.MAX_VALUE))
                .setLiveSequences(live == null ? 0 : live.size())
                .setVocabSize(identity.vocabSize()).setMaxContextTokens(identity.maxContextTokens())
                .setSimulated(identity.simulated()).setLatencyModel(identity.latencyModel())
                .build();
    }

    @Override
    public void info(InfoRequest request, StreamObserver<WorkerInfo> response) {
        response.onNext(info());
        response.onCompleted();
    }

    @Override
    public StreamObserver<StepInput> forward(StreamObserver<StepOutput> response) {
        ServerCallStreamObserver<StepOutput> upstream = (ServerCallStreamObserver<StepOutput>) response;
        upstream.disableAutoRequest();
        ForwardSession session = new ForwardSession(this, upstream);
        WorkerState now = state;
        if (now != WorkerState.WORKER_STATE_READY) {
            session.close(Status.UNAVAILABLE.withDescription(refusal(now)));
            return session;
        }
        upstream.request(1);   // the first StepInput, to admit the stream by
        return session;
    }

    /** Makes {@code session} the current stream, or refuses it; see the class comment. */
    void admit(ForwardSession session, long epoch) throws StreamFault {
        ForwardSession superseded;
        synchronized (this) {
            if (state != WorkerState.WORKER_STATE_READY) throw StreamFault.unavailable(refusal(state));
            long newest = fence.newest();
            if (epoch < newest) throw StreamFault.precondition(ForwardSession.staleEpoch(epoch, newest));
            superseded = current;
            current = session;
            fence.observe(epoch);
        }
        if (superseded != null)
            superseded.close(Status.ABORTED.withDescription("superseded on stage " + identity.workerId()
                    + " by a new stream of epoch " + epoch));
    }

    /** A session ended: drop its queued steps, and it is no longer current. */
    void closed(ForwardSession session) {
        compute.discard(session);
        synchronized (this) {
            if (current == session) {
                current = null;
                notifyAll();
            }
        }
    }

    /** Waits until no Forward stream is current (the coordinator moved away); false when {@code timeout} passed first. */
    public synchronized boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (current != null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private void onEpochRaised(long newest) {
        ForwardSession s;
        synchronized (this) {
            s = current;
        }
        if (s != null && s.epoch() < newest) s.close(Status.FAILED_PRECONDITION.withDescription(
                ForwardSession.staleEpoch(s.epoch(), newest)));
    }

    private String refusal(WorkerState now) {
        return "worker " + identity.workerId() + " is " + switch (now) {
            case WORKER_STATE_LOADING -> "still loading its shard; retry when it is READY";
            case WORKER_STATE_DRAINING -> "draining before it shuts down; route around it";
            default -> "not serving (" + now + ")";
        };
    }

    StepPlanner planner() { return planner; }

    StageCompute compute() { return compute; }

    StageChannels channels() { return channels; }

    /** True once {@link #close()} has stopped the compute thread: the shard may then be released. */
    public boolean computeStopped() { return computeStopped; }

    /**
     * Closes the current stream with UNAVAILABLE and stops the compute thread, waiting up to 30 s for a step in
     * progress; see {@link #computeStopped()}.
     */
    @Override
    public void close() {
        drain();
        ForwardSession s;
        synchronized (this) {
            s = current;
            current = null;
        }
        if (s != null) s.close(Status.UNAVAILABLE.withDescription("worker " + identity.workerId() + " is shutting down"));
        computeStopped = compute.stopQuietly(COMPUTE_STOP_TIMEOUT);
        fence.close();
        log.debug("stage {} closed", identity.workerId());
    }
}
