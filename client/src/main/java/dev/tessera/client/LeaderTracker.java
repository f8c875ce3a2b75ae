package dev.tessera.client;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.proto.v1.CoordinatorInfo;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the leader coordinator's ZooKeeper node ({@code ZkLayout.leaderPath()}, an ephemeral node holding a
 * {@link CoordinatorInfo}) and hands out a channel to the leader it names.
 *
 * <p>Contract: a call is started on the channel of the leader that is current when it starts; a leader change never
 * moves a call in flight. When the node names another address, new calls go to the new leader at once and the old
 * channel is shut down gracefully (its calls in flight run to their end). When the node is gone, calls wait for one
 * (see {@link #acquire}) and fail with UNAVAILABLE when none comes in time.
 *
 * <p>Races: a call is started under the read lock and a leader is swapped under the write lock, so no call is ever
 * started on a channel that is already shut down. Node events arrive in order on Curator's event thread.
 *
 * <p>NOTE: losing the ZooKeeper connection does not drop the known leader: the node's owner may still be serving,
 * and if it is not, its calls fail with UNAVAILABLE on their own. The node decides, once the connection is back.
 */
final class LeaderTracker implements ChannelSource {

    private static final Logger log = LoggerFactory.getLogger(LeaderTracker.class);

    private record Leader(CoordinatorInfo info, ManagedChannel channel) {}

    /** A call waiting for a leader; exactly one of start, fail and withdraw wins {@code done}. */
    private final class Waiter implements Pending {
        final Consumer<Channel> start;
        final Consumer<StatusRuntimeException> fail;
        final AtomicBoolean done = new AtomicBoolean();
        final long waitNanos;
        ScheduledFuture<?> timeout; // guarded by lock

        Waiter(long waitNanos, Consumer<Channel> start, Consumer<StatusRuntimeException> fail) {
            this.waitNanos = waitNanos;
            this.start = start;
            this.fail = fail;
        }

        @Override
        public boolean withdraw() {
            lock.writeLock().lock();
            try {
                waiters.remove(this);
                if (timeout != null) timeout.cancel(false);
            } finally {
                lock.writeLock().unlock();
            }
            return done.compareAndSet(false, true);
        }

        void timedOut() {
            lock.writeLock().lock();
            try {
                waiters.remove(this);
            } finally {
                lock.writeLock().unlock();
            }
            if (done.compareAndSet(false, true)) fail.accept(noLeader(waitNanos));
        }
    }

    private final CuratorFramework curator;
    private final boolean ownsCurator;
    private final String path;
    private final ChannelFactory channels;
    private final CuratorCache cache;
    private final ScheduledExecutorService timer;
    private final List<Consumer<Optional<CoordinatorInfo>>> listeners = new CopyOnWriteArrayList<>();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private Leader leader; // guarded by lock; null while no leader is registered
    // NOTE: bounded by the number of calls the application has made and not yet seen started; each leaves at its
    // deadline (or leaderWait) at the latest.
    private final Set<Waiter> waiters = new LinkedHashSet<>(); // guarded by lock
    private boolean closed; // guarded by lock
    private final List<ManagedChannel> retired = new ArrayList<>(); // guarded by lock; old leaders' channels, draining

    /**
     * Starts following {@code path}. The Curator client must be started; with {@code ownsCurator} it is closed with
     * this tracker.
     */
    LeaderTracker(CuratorFramework curator, boolean ownsCurator, String path, ChannelFactory channels) {
        this.curator = curator;
        this.ownsCurator = ownsCurator;
        this.path = path;
        this.channels = channels;
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("tessera-leader-wait").factory());
        this.cache = CuratorCache.build(curator, path, CuratorCache.Options.SINGLE_NODE_CACHE);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(node -> update(node))
                .forChanges((before, node) -> update(node))
                .forDeletes(node -> update(null))
                .build());
        cache.start();
    }

    /** The leader that new calls go to now, if any. */
    Optional<CoordinatorInfo> leader() {
        lock.readLock().lock();
        try {
            return Optional.ofNullable(leader).map(Leader::info);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Called after every change of the leader, on Curator's event thread, with the new one (empty: none). */
    void addListener(Consumer<Optional<CoordinatorInfo>> listener) {
        listeners.add(listener);
    }

    @Override
    public boolean followsLeader() { return true; }

    @Override
    public Pending acquire(long waitNanos, Consumer<Channel> start, Consumer<StatusRuntimeException> fail) {
        lock.readLock().lock();
        try {
            if (leader != null) {
                start.accept(leader.channel());
                return Pending.NONE;
            }
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock();
        Waiter waiter = null;
        try {
            if (closed) {
                // refused below, outside the lock
            } else if (leader != null) {
                lock.readLock().lock(); // downgrade: the leader cannot change before the call is started
                lock.writeLock().unlock();
                try {
                    start.accept(leader.channel());
                } finally {
                    lock.readLock().unlock();
                }
                return Pending.NONE;
            } else {
                waiter = new Waiter(waitNanos, start, fail);
                waiters.add(waiter);
                waiter.timeout = timer.schedule(waiter::timedOut, Math.max(0, waitNanos), TimeUnit.NANOSECONDS);
            }
        } finally {
            if (lock.isWriteLockedByCurrentThread()) lock.writeLock().unlock();
        }
        if (waiter == null) {
            fail.accept(Status.UNAVAILABLE.withDescription("the client is closed").asRuntimeException());
            return Pending.NONE;
        }
        return waiter;
    }

    private void update(ChildData node) {
        CoordinatorInfo info = node == null ? null : parse(node.getData());
        List<Waiter> ready = new ArrayList<>();
        Leader current;
        lock.writeLock().lock();
        try {
            if (closed) return;
            Leader before = leader;
            if (info == null) {
                leader = null;
            } else if (before != null && before.info().getAddress().equals(info.getAddress())) {
                leader = new Leader(info, before.channel()); // same server, new term: keep the connection
            } else {
                leader = open(info);
            }
            current = leader;
            if (before != null && (current == null || before.channel() != current.channel())) {
                before.channel().shutdown(); // graceful: calls in flight on the old leader run to their end
                retired.removeIf(ManagedChannel::isTerminated);
                retired.add(before.channel());
            }
            if (current != null) {
                ready.addAll(waiters);
                waiters.clear();
            }
            lock.readLock().lock(); // downgrade: start the waiting calls on this leader before another change
        } finally {
            lock.writeLock().unlock();
        }
        try {
            for (Waiter w : ready) {
                if (w.timeout != null) w.timeout.cancel(false);
                if (w.done.compareAndSet(false, true)) w.start.accept(current.channel());
            }
        } finally {
            lock.readLock().unlock();
        }
        Optional<CoordinatorInfo> now = Optional.ofNullable(current).map(Leader::info);
        log.info("leader coordinator: {}", now.map(i -> i.getAddress() + " (epoch " + i.getEpoch() + ")").orElse("none"));
        for (Consumer<Optional<CoordinatorInfo>> l : listeners) l.accept(now);
    }

    /** The info in a leader node, or null (logged) when it cannot be used. */
    private CoordinatorInfo parse(byte[] data) {
        try {
            CoordinatorInfo info = CoordinatorInfo.parseFrom(data == null ? new byte[0] : data);
            if (info.getAddress().isBlank()) {
                log.warn("the leader node {} names no address; waiting for the next leader", path);
                return null;
            }
            return info;
        } catch (InvalidProtocolBufferException e) {
            log.warn("the leader node {} does not hold a CoordinatorInfo ({}); waiting for the next leader", path, e.getMessage());
            return null;
        }
    }

    private Leader open(CoordinatorInfo info) {
        try {
            return new Leader(info, channels.open(info.getAddress()));
        } catch (RuntimeException e) {
            log.warn("cannot open a channel to the leader coordinator at {}: {}", info.getAddress(), e.getMessage());
            return null;
        }
    }

    private StatusRuntimeException noLeader(long waitedNanos) {
        String zk = curator.getZookeeperClient().isConnected() ? ""
                : "; not connected to ZooKeeper at " + curator.getZookeeperClient().getCurrentConnectionString();
        return Status.UNAVAILABLE.withDescription("no leader coordinator registered under " + path + " (waited "
                + TimeUnit.NANOSECONDS.toMillis(waitedNanos) + " ms" + zk + "); is the cluster up?").asRuntimeException();
    }

    @Override
    public String describe() {
        return "the leader coordinator registered under " + path;
    }

    @Override
    public void close() {
        List<Waiter> left;
        Leader last;
        List<ManagedChannel> drained;
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            left = new ArrayList<>(waiters);
            waiters.clear();
            last = leader;
            leader = null;
            drained = new ArrayList<>(retired);
            retired.clear();
        } finally {
            lock.writeLock().unlock();
        }
        cache.close();
        if (ownsCurator) curator.close();
        timer.shutdownNow();
        for (Waiter w : left)
            if (w.done.compareAndSet(false, true))
                w.fail.accept(Status.UNAVAILABLE.withDescription("the client was closed while the call waited for a leader").asRuntimeException());
        if (last != null) ChannelSource.shutdown(last.channel(), TesseraClient.CLOSE_GRACE);
        for (ManagedChannel c : drained) ChannelSource.shutdown(c, TesseraClient.CLOSE_GRACE);
    }
}
