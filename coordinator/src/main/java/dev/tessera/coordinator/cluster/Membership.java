package dev.tessera.coordinator.cluster;

import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.zk.WorkerInstanceSerializer;
import dev.tessera.proto.zk.ZkLayout;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.utils.CloseableUtils;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.ServiceCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A warm, read-only view of the cluster: the workers registered under the layout's ServiceDiscovery (service
 * {@link ZkLayout#STAGE_SERVICE}, payload {@link WorkerInfo}) and the leader node. Leaders and standbys both keep
 * one, so a new leader starts from a current view.
 *
 * <p>Lifecycle: LATENT → {@link #start()} (returns once the first view is read) → STARTED → {@link #close()} →
 * CLOSED. The client belongs to the caller and must stay started until after close.
 *
 * <p>Consistency: {@link #workers()} and {@link #leader()} return the snapshot most recently published; listeners get
 * the same snapshots, on one thread, in order, coalesced (see {@link MembershipListener}). While the ZooKeeper
 * connection is down the view is the last one read; a worker whose session ends disappears once ZooKeeper deletes
 * its ephemeral node (at most the worker's session timeout after it dies).
 */
public final class Membership implements Closeable {

    public enum State { LATENT, STARTED, CLOSED }

    private static final Logger log = LoggerFactory.getLogger(Membership.class);
    private static final Comparator<WorkerInfo> BY_ID = Comparator.comparing(WorkerInfo::getWorkerId);

    private final ZkLayout layout;
    private final Duration startTimeout;
    private final ServiceDiscovery<WorkerInfo> discovery;
    private final ServiceCache<WorkerInfo> workerCache;
    private final CuratorCache leaderCache;
    private final Coalescer events;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final List<MembershipListener> listeners = new CopyOnWriteArrayList<>();
    private final Set<MembershipListener> untold = ConcurrentHashMap.newKeySet();   // added, not yet told the view
    private final ReentrantLock viewLock = new ReentrantLock();
    private final Condition viewChanged = viewLock.newCondition();
    private volatile List<WorkerInfo> workers = List.of();
    private volatile Optional<CoordinatorInfo> leader = Optional.empty();

    // Confined to the event thread: what listeners were last told (null: nothing yet).
    private List<WorkerInfo> toldWorkers;
    private Optional<CoordinatorInfo> toldLeader;

    /** A view that waits up to 30 s for its first read in {@link #start()}. */
    public Membership(CuratorFramework client, ZkLayout layout) {
        this(client, layout, Duration.ofSeconds(30));
    }

    public Membership(CuratorFramework client, ZkLayout layout, Duration startTimeout) {
        if (client == null || layout == null || startTimeout == null || startTimeout.isNegative())
            throw new IllegalArgumentException("client, layout and a non-negative start timeout are required");
        this.layout = layout;
        this.startTimeout = startTimeout;
        this.discovery = ServiceDiscoveryBuilder.builder(WorkerInfo.class).client(client)
                .basePath(layout.workersPath()).serializer(new WorkerInstanceSerializer()).build();
        this.workerCache = discovery.serviceCacheBuilder().name(ZkLayout.STAGE_SERVICE).build();
        this.leaderCache = CuratorCache.build(client, layout.leaderPath(), CuratorCache.Options.SINGLE_NODE_CACHE);
        this.events = new Coalescer("membership", this::publishAndNotify);
    }

    /**
     * Reads the registry and the leader node, then keeps watching them.
     *
     * <p>Listeners added before or after start are told the current view first, then its changes.
     *
     * @throws TimeoutException when the first read does not finish within the start timeout (ZooKeeper unreachable)
     */
    public void start() throws Exception {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) throw new IllegalStateException("membership was already started");
        discovery.start();
        workerCache.addListener(new ServiceCacheListener() {
            @Override public void cacheChanged() { events.signal(); }
            @Override public void stateChanged(CuratorFramework c, ConnectionState s) { events.signal(); }
        }, Runnable::run);
        CountDownLatch workersRead = workerCache.startImmediate();
        CountDownLatch leaderRead = new CountDownLatch(1);
        leaderCache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> events.signal()).forInitialized(leaderRead::countDown).build());
        leaderCache.start();
        long deadline = System.nanoTime() + startTimeout.toNanos();
        if (!workersRead.await(startTimeout.toNanos(), TimeUnit.NANOSECONDS)
                || !leaderRead.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            close();
            throw new TimeoutException("could not read the worker registry under " + layout.workersPath() + " within "
                    + startTimeout.toSeconds() + " s: is ZooKeeper reachable?");
        }
        publish();
        events.start();
        events.signal();                        // tells listeners added before start the first view
    }

    /** The registered workers, sorted by worker id; an immutable snapshot. */
    public List<WorkerInfo> workers() {
        return workers;
    }

    public Optional<WorkerInfo> worker(String workerId) {
        return workers.stream().filter(w -> w.getWorkerId().equals(workerId)).findFirst();
    }

    /** The leader as the leader node names it; empty while there is none. */
    public Optional<CoordinatorInfo> leader() {
        return leader;
    }

    public State state() {
        return state.get();
    }

    public void addListener(MembershipListener listener) {
        untold.add(Objects.requireNonNull(listener));
        listeners.add(listener);
        events.signal();
    }

    public void removeListener(MembershipListener listener) {
        listeners.remove(listener);
        untold.remove(listener);
    }

    /**
     * Waits until the workers satisfy {@code condition} and returns that snapshot.
     *
     * @throws TimeoutException naming the workers seen last, when the condition does not hold within {@code timeout}
     */
    public List<WorkerInfo> awaitWorkers(Predicate<List<WorkerInfo>> condition, Duration timeout)
            throws InterruptedException, TimeoutException {
        long left = timeout.toNanos();
        viewLock.lock();
        try {
            while (!condition.test(workers)) {
                if (left <= 0) throw new TimeoutException("the workers did not reach the expected state within "
                        + timeout.toMillis() + " ms; registered now: " + describe(workers));
                left = viewChanged.awaitNanos(left);
            }
            return workers;
        } finally {
            viewLock.unlock();
        }
    }

    /** Stops watching. Idempotent. */
    @Override
    public void close() throws IOException {
        State before = state.getAndSet(State.CLOSED);
        if (before != State.STARTED) return;
        events.close();
        CloseableUtils.closeQuietly(workerCache);
        CloseableUtils.closeQuietly(leaderCache);
        CloseableUtils.closeQuietly(discovery);
    }

    /** "w1 [0,12) READY, w2 [12,24) LOADING", for messages. */
    public static String describe(List<WorkerInfo> workers) {
        if (workers.isEmpty()) return "none";
        return String.join(", ", workers.stream().map(w -> w.getWorkerId() + " [" + w.getFirstLayer() + ","
                + w.getLastLayer() + ") " + w.getState().name().replace("WORKER_STATE_", "")).toList());
    }

    private void publishAndNotify() {
        if (state.get() != State.STARTED) return;
        publish();
        List<WorkerInfo> w = workers;
        Optional<CoordinatorInfo> l = leader;
        boolean workersNew = !w.equals(toldWorkers), leaderNew = !l.equals(toldLeader);
        toldWorkers = w;
        toldLeader = l;
        for (MembershipListener listener : listeners) {
            boolean first = untold.remove(listener);
            try {
                if (workersNew || first) listener.workersChanged(w);
                if (leaderNew || first) listener.leaderChanged(l);
            } catch (RuntimeException e) {
                log.error("membership listener {} failed", listener, e);
            }
        }
    }

    private void publish() {
        List<WorkerInfo> w = workerCache.getInstances().stream().map(ServiceInstance::getPayload)
                .filter(Objects::nonNull).sorted(BY_ID).toList();
        Optional<CoordinatorInfo> l = leaderCache.get(layout.leaderPath()).map(ChildData::getData).flatMap(EpochFence::parse);
        viewLock.lock();
        try {
            workers = w;
            leader = l;
            viewChanged.signalAll();
        } finally {
            viewLock.unlock();
        }
    }
}
