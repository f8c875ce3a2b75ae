package dev.tessera.coordinator.cluster;

import com.google.protobuf.Timestamp;
import dev.tessera.proto.v1.CoordinatorInfo;
import java.io.Closeable;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This coordinator's part in the leader election: a Curator {@link LeaderLatch} on the layout's latch path, and, for
 * each term it wins, a fresh epoch and the leader node (see {@link EpochFence#claim}). Only after both are written
 * does it call {@link LeadershipListener#onLeader}; when the term ends it calls {@link LeadershipListener#onStandby}
 * at once, then deletes the leader node if it still holds this coordinator's record.
 *
 * <p>Lifecycle: LATENT → {@link #start()} → STARTED → {@link #close()} → CLOSED; neither call can be repeated
 * (close is idempotent). The client belongs to the caller, who must keep it started until after close.
 *
 * <p>Threads and races: listener calls, epoch claims and leader-node writes all happen on one thread of this object,
 * which re-reads the latch and connection state each time anything changes (nothing is queued). {@link #isLeader()}
 * and {@link #epoch()} may be read from any thread; they drop to false/0 on the Curator thread that reports the
 * connection suspended, before {@code onStandby} runs. Even so, a leader can be deposed without knowing it yet (a
 * partition before its session expires): the epoch carried on every step is what makes the workers refuse a stale
 * leader, not this class.
 *
 * <p>NOTE: a SUSPENDED connection counts as lost leadership (as does LOST or READ_ONLY), whatever the client's
 * ConnectionStateErrorPolicy says. While suspended this process cannot know whether its session, and with it its
 * latch node, still exists; after the session timeout another coordinator leads. Stopping at SUSPENDED wastes a
 * network blip (a new term and epoch on reconnect, the in-flight sequences re-run), but never schedules two replicas
 * from two leaders at once for longer than the fencing already forbids.
 *
 * <p>NOTE: if claiming the epoch fails (ZooKeeper error, a corrupt epoch node) while the latch is held, this class
 * gives the latch up, so another coordinator can try, and rejoins after a back-off (250 ms doubling up to 5 s).
 */
public final class Leadership implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(Leadership.class);

    public enum State { LATENT, STARTED, CLOSED }

    private final CuratorFramework client;
    private final LeadershipConfig config;
    private final LeadershipListener listener;
    private final EpochFence fence;
    private final Clock clock;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final Coalescer events;
    private final AtomicLong terms = new AtomicLong();     // +1 on every isLeader() from the latch
    private final ConnectionStateListener connectionListener = this::connectionChanged;
    private final LeaderLatchListener latchListener = new LeaderLatchListener() {
        @Override public void isLeader() { terms.incrementAndGet(); events.signal(); }
        @Override public void notLeader() { events.signal(); }
    };
    private volatile boolean suspended;
    private volatile long epoch;                           // 0 unless leading; guarded by this for check-then-set
    private volatile LeaderLatch latch;                    // replaced (on the event thread) after a failed claim

    // Confined to the event thread.
    private long announcedTerm;                            // the term told onLeader; 0 when standing by
    private CoordinatorInfo written;                       // the leader record this process last wrote, until released
    private int failures;
    private Instant rejoinAt;                              // when the latch was given up after a failed claim

    public Leadership(CuratorFramework client, LeadershipConfig config, LeadershipListener listener) {
        this(client, config, listener, Clock.systemUTC());
    }

    Leadership(CuratorFramework client, LeadershipConfig config, LeadershipListener listener, Clock clock) {
        if (client == null || config == null || listener == null)
            throw new IllegalArgumentException("client, config and listener are required");
        this.client = client;
        this.config = config;
        this.listener = listener;
        this.clock = clock;
        this.fence = new EpochFence(client, config.layout());
        this.events = new Coalescer("leadership-" + config.coordinatorId(), this::reconcile);
    }

    /** Joins the election. Returns at once; {@code onLeader} comes later, on this object's thread. */
    public void start() throws Exception {
        if (!state.compareAndSet(State.LATENT, State.STARTED))
            throw new IllegalStateException("leadership of " + config.coordinatorId() + " was already started");
        client.getConnectionStateListenable().addListener(connectionListener, Runnable::run);
        joinLatch();
        events.start();
    }

    /** Whether this coordinator leads now: onLeader was called and nothing has ended the term since. */
    public boolean isLeader() {
        return epoch != 0;
    }

    /** The epoch of the current term; 0 when not leading. */
    public long epoch() {
        return epoch;
    }

    public State state() {
        return state.get();
    }

    public LeadershipConfig config() {
        return config;
    }

    /**
     * Stands down (onStandby first, if leading, then the leader node is deleted), then leaves the election so the
     * next participant leads. Blocks until done. Idempotent.
     */
    @Override
    public void close() throws IOException {
        if (state.getAndSet(State.CLOSED) != State.STARTED) return;
        events.close();                           // the last reconcile sees CLOSED and stands down
        client.getConnectionStateListenable().removeListener(connectionListener);
        LeaderLatch current = latch;
        if (current != null) leave(current, LeaderLatch.CloseMode.NOTIFY_LEADER);
    }

    private void connectionChanged(CuratorFramework c, ConnectionState newState) {
        boolean down = newState != ConnectionState.CONNECTED && newState != ConnectionState.RECONNECTED;
        synchronized (this) {
            suspended = down;
            if (down) epoch = 0;
        }
        if (down) log.warn("coordinator {}: ZooKeeper connection {}; not leading until it is back", config.coordinatorId(), newState);
        events.signal();
    }

    /** The event thread's one job: make what the listener was told match the latch and connection state. */
    private void reconcile() {
        boolean closing = state.get() == State.CLOSED;
        if (!closing && latch == null && rejoinAt != null && !clock.instant().isBefore(rejoinAt)) joinLatch();
        LeaderLatch current = latch;
        long term = terms.get();
        boolean leading = !closing && !suspended && current != null && current.hasLeadership();
        if (announcedTerm != 0 && (!leading || term != announcedTerm)) standDown();
        if (!leading) {
            if (!suspended) releaseWritten();
            return;
        }
        if (announcedTerm != 0) return;           // still leading in the announced term
        CoordinatorInfo me = CoordinatorInfo.newBuilder().setCoordinatorId(config.coordinatorId())
                .setAddress(config.address()).setSince(timestamp(clock.instant())).build();
        Optional<CoordinatorInfo> claimed;
        try {
            claimed = fence.claim(current.getOurPath(), me);
        } catch (Exception e) {
            giveUpLatch(current, e);
            return;
        }
        if (claimed.isEmpty()) {                  // our latch node is gone
            // NOTE: after a session loss the latch reports notLeader by itself; a node deleted by hand it would
            // never notice, and the cluster would have no leader, so leave and rejoin.
            if (!suspended && current.hasLeadership())
                giveUpLatch(current, new IllegalStateException("its latch node " + current.getOurPath() + " is gone"));
            return;
        }
        written = claimed.get();
        boolean announce;
        synchronized (this) {
            announce = state.get() == State.STARTED && !suspended && current.hasLeadership() && terms.get() == term;
            if (announce) epoch = written.getEpoch();
        }
        if (!announce) {                          // the term ended while claiming; whatever ended it signalled again
            releaseWritten();
            return;
        }
        announcedTerm = term;
        failures = 0;
        log.info("coordinator {} leads with epoch {}", config.coordinatorId(), written.getEpoch());
        try {
            listener.onLeader(written.getEpoch());
        } catch (RuntimeException e) {
            log.error("leadership listener failed in onLeader({})", written.getEpoch(), e);
        }
    }

    private void standDown() {
        synchronized (this) {
            epoch = 0;
        }
        announcedTerm = 0;
        log.info("coordinator {} stands down", config.coordinatorId());
        try {
            listener.onStandby();
        } catch (RuntimeException e) {
            log.error("leadership listener failed in onStandby", e);
        }
    }

    /** Deletes the leader node if it still holds the record this process wrote. */
    private void releaseWritten() {
        if (written == null) return;
        try {
            fence.release(written);
            written = null;
        } catch (Exception e) {
            // NOTE: kept, to retry on the next change; the node is ephemeral, so a lost session removes it anyway.
            log.warn("coordinator {}: could not delete its leader node yet: {}", config.coordinatorId(), e.toString());
        }
    }

    private void giveUpLatch(LeaderLatch current, Exception cause) {
        failures++;
        Duration backoff = Duration.ofMillis(Math.min(5_000L, 250L << Math.min(failures - 1, 5)));
        log.error("coordinator {} could not take a leader epoch ({}); leaving the election, rejoining in {} ms",
                config.coordinatorId(), cause.getMessage(), backoff.toMillis(), cause);
        latch = null;
        leave(current, LeaderLatch.CloseMode.SILENT);
        releaseWritten();
        rejoinAt = clock.instant().plus(backoff);
        events.signalAfter(backoff);
    }

    private void joinLatch() {
        LeaderLatch next = new LeaderLatch(client, config.layout().latchPath(), config.coordinatorId(),
                LeaderLatch.CloseMode.NOTIFY_LEADER);
        next.addListener(latchListener, Runnable::run);
        rejoinAt = null;
        latch = next;
        try {
            next.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot join the leader election at " + config.layout().latchPath() + ": " + e.getMessage(), e);
        }
    }

    private void leave(LeaderLatch l, LeaderLatch.CloseMode mode) {
        try {
            l.close(mode);
        } catch (IOException | IllegalStateException e) {
            log.warn("coordinator {}: leaving the leader latch failed: {}", config.coordinatorId(), e.toString());
        }
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
