package dev.tessera.coordinator.cluster;

/**
 * Told when this coordinator starts and stops leading. Calls come on one thread, in order, and alternate:
 * {@code onLeader}, {@code onStandby}, {@code onLeader}, ... Implementations must return promptly (hand long work to
 * another thread): the next call waits behind this one.
 */
public interface LeadershipListener {

    /**
     * This coordinator leads, and every step it sends must carry {@code epoch}. By now the epoch is taken in
     * ZooKeeper (strictly greater than every earlier leader's) and the leader node names this coordinator.
     */
    void onLeader(long epoch);

    /**
     * This coordinator no longer leads (or may not: its ZooKeeper connection is suspended): stop scheduling at once.
     * Another coordinator may already lead with a greater epoch.
     */
    void onStandby();
}
