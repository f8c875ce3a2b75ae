package dev.tessera.client;

import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.ListModelsRequest;
import dev.tessera.proto.v1.ListModelsResponse;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.zk.ZkLayout;
import io.grpc.Channel;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * The Java client of Tessera's Inference service. Thread-safe: share one per application.
 *
 * <pre>{@code
 * try (TesseraClient client = TesseraClient.fromZooKeeper("zk1:2181", ZkLayout.DEFAULT)) {
 *     Completion c = client.complete(GenerateRequests.text("...").setSampling(GenerateRequests.greedy(64)).build()).join();
 *     try (GenerationStream s = client.generate(request)) { s.forEachRemaining(chunk -> print(chunk.getText())); }
 * }
 * }</pre>
 *
 * <p>Errors are the server's: every API reports a failed call as a {@link StatusRuntimeException} carrying the
 * status and description the server sent (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED), or
 * DEADLINE_EXCEEDED / CANCELLED from the client side. A request the server accepted and then gave up on is not an
 * error: its {@link Completion} has finish reason ERROR or CANCELLED and the reason in {@link Completion#error()}.
 *
 * <p>Deadlines: {@link ClientOptions#deadline()} applies to every call, from the moment it is made (the wait for a
 * leader included). {@link #withDeadline(Duration)} gives a view with another deadline, for one request or many.
 */
public final class TesseraClient implements AutoCloseable {

    /** How long {@link #close()} lets calls in flight finish before it cancels them. */
    static final int CLOSE_GRACE_SECONDS = 5;
    static final Duration CLOSE_GRACE = Duration.ofSeconds(CLOSE_GRACE_SECONDS);

    private final ChannelSource source;
    private final ClientOptions options;
    private final boolean view;
    private final AtomicBoolean closed;

    private TesseraClient(ChannelSource source, ClientOptions options, boolean view, AtomicBoolean closed) {
        this.source = source;
        this.options = options;
        this.view = view;
        this.closed = closed;
    }

    /** A client on a channel the caller owns (and shuts down after closing this client). */
    public static TesseraClient of(Channel channel) {
        return of(channel, ClientOptions.DEFAULTS);
    }

    public static TesseraClient of(Channel channel, ClientOptions options) {
        return new TesseraClient(ChannelSource.borrowed(channel, channel.authority()), options, false, new AtomicBoolean());
    }

    /** A client with its own plaintext channel to {@code host:port} (port {@value HostPort#DEFAULT_PORT} if not given). */
    public static TesseraClient connect(String address) {
        return connect(address, ClientOptions.DEFAULTS);
    }

    public static TesseraClient connect(String address, ClientOptions options) {
        HostPort hp = HostPort.parse(address);
        var channel = Grpc.newChannelBuilderForAddress(hp.host(), hp.port(), InsecureChannelCredentials.create()).build();
        return new TesseraClient(ChannelSource.owned(channel, hp.toString()), options, false, new AtomicBoolean());
    }

    /**
     * A client that sends every call to the leader coordinator registered in ZooKeeper under
     * {@code layout.leaderPath()}, and follows it when it changes. It owns its Curator client and its channels.
     */
    public static TesseraClient fromZooKeeper(String connectString, ZkLayout layout) {
        return fromZooKeeper(connectString, layout, ClientOptions.DEFAULTS, ChannelFactory.PLAINTEXT);
    }

    /** Like {@link #fromZooKeeper(String, ZkLayout)} with options. */
    public static TesseraClient fromZooKeeper(String connectString, ZkLayout layout, ClientOptions options) {
        return fromZooKeeper(connectString, layout, options, ChannelFactory.PLAINTEXT);
    }

    /** Like {@link #fromZooKeeper(String, ZkLayout)}, opening channels to coordinators with {@code channels}. */
    public static TesseraClient fromZooKeeper(String connectString, ZkLayout layout, ClientOptions options, ChannelFactory channels) {
        if (connectString == null || connectString.isBlank())
            throw new IllegalArgumentException("the ZooKeeper connect string is empty; give host:port[,host:port...]");
        CuratorFramework curator = CuratorFrameworkFactory.newClient(connectString, new ExponentialBackoffRetry(200, 10));
        curator.start();
        try {
            return new TesseraClient(new LeaderTracker(curator, true, layout.leaderPath(), channels), options, false, new AtomicBoolean());
        } catch (RuntimeException e) {
            curator.close();
            throw e;
        }
    }

    /** Like {@link #fromZooKeeper(String, ZkLayout)} on a started Curator client that the caller owns. */
    public static TesseraClient fromZooKeeper(CuratorFramework curator, ZkLayout layout, ClientOptions options, ChannelFactory channels) {
        return new TesseraClient(new LeaderTracker(curator, false, layout.leaderPath(), channels), options, false, new AtomicBoolean());
    }

    /**
     * A view of this client whose calls have {@code deadline} ({@code null}: none). It shares this client's
     * channels: closing the view does nothing, closing this client closes it too.
     */
    public TesseraClient withDeadline(Duration deadline) {
        return withOptions(options.withDeadline(deadline));
    }

    /** A view of this client with other options; see {@link #withDeadline(Duration)}. */
    public TesseraClient withOptions(ClientOptions newOptions) {
        return new TesseraClient(source, newOptions, true, closed);
    }

    public ClientOptions options() {
        return options;
    }

    /** The leader coordinator that calls go to now; empty when there is none or the client was not built from ZooKeeper. */
    public Optional<CoordinatorInfo> leader() {
        return source instanceof LeaderTracker t ? t.leader() : Optional.empty();
    }

    /** Where the calls go; for tests in this package. */
    ChannelSource source() {
        return source;
    }

    /** What calls go to: an address, or the leader's ZooKeeper node. For messages. */
    public String target() {
        return source.describe();
    }

    /**
     * Starts a Generate call and returns its messages to pull. Close the stream to cancel the call early.
     * Failures are thrown by the stream's {@code hasNext()}.
     */
    public GenerationStream generate(GenerateRequest request) {
        ensureOpen();
        return new GenerationStream(listener -> start(request, listener, 1));
    }

    /** Starts a Generate call that reports to {@code listener}; the returned handle cancels it. */
    public Generation generate(GenerateRequest request, GenerationListener listener) {
        ensureOpen();
        return start(request, listener, 0);
    }

    /**
     * Generates a whole completion. The future fails with a {@link StatusRuntimeException} (see the class comment);
     * cancelling it cancels the call on the server.
     */
    public CompletableFuture<Completion> complete(GenerateRequest request) {
        ensureOpen();
        CompletableFuture<Completion> result = new CompletableFuture<>();
        Generation generation = start(request, new GenerationListener() {
            @Override
            public void onChunk(dev.tessera.proto.v1.GenerateResponse chunk) {}

            @Override
            public void onComplete(Completion completion) {
                result.complete(completion);
            }

            @Override
            public void onError(StatusRuntimeException error) {
                result.completeExceptionally(error);
            }
        }, 0);
        result.whenComplete((c, e) -> {
            if (e instanceof CancellationException) generation.cancel();
        });
        return result;
    }

    /**
     * The models the leader serves now, with their limits.
     *
     * @throws StatusRuntimeException UNAVAILABLE on a standby or with no leader, DEADLINE_EXCEEDED...
     */
    public List<ModelInfo> listModels() {
        ensureOpen();
        CompletableFuture<ListModelsResponse> response = new CompletableFuture<>();
        Deadline deadline = deadline();
        source.acquire(leaderWaitNanos(deadline), channel -> InferenceGrpc.newStub(channel).withDeadline(deadline)
                .listModels(ListModelsRequest.getDefaultInstance(), new StreamObserver<>() {
                    @Override
                    public void onNext(ListModelsResponse value) {
                        response.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        response.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        response.completeExceptionally(Status.INTERNAL.withDescription("ListModels ended without a response").asRuntimeException());
                    }
                }), response::completeExceptionally);
        try {
            return response.get().getModelsList();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted while waiting for ListModels").withCause(e).asRuntimeException();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof StatusRuntimeException s ? s : Status.fromThrowable(cause).asRuntimeException();
        }
    }

    private GenerateCall start(GenerateRequest request, GenerationListener listener, int initialRequest) {
        Deadline deadline = deadline();
        return new GenerateCall(request, listener, initialRequest).start(source, deadline, leaderWaitNanos(deadline));
    }

    private Deadline deadline() {
        return options.deadline() == null ? null : Deadline.after(options.deadline().toNanos(), TimeUnit.NANOSECONDS);
    }

    private long leaderWaitNanos(Deadline deadline) {
        long wait = options.leaderWait().toNanos();
        return deadline == null ? wait : Math.min(wait, deadline.timeRemaining(TimeUnit.NANOSECONDS));
    }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException("this TesseraClient is closed");
    }

    /**
     * Closes the channels this client owns (calls in flight get {@value #CLOSE_GRACE_SECONDS} s to finish, then
     * are cancelled) and its ZooKeeper client; a channel given to {@link #of(Channel)} is left alone. Does nothing
     * on a view from {@link #withDeadline(Duration)}.
     */
    @Override
    public void close() {
        if (view || !closed.compareAndSet(false, true)) return;
        source.close();
    }
}
