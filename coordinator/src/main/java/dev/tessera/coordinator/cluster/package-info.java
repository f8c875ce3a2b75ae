/**
 * The coordinator's view of the cluster in ZooKeeper: {@link dev.tessera.coordinator.cluster.Leadership} (the leader
 * latch, the epoch and the leader node), {@link dev.tessera.coordinator.cluster.Membership} (the registered workers
 * and the leader, kept warm) and {@link dev.tessera.coordinator.cluster.ReplicaPlan} (which workers form replicas;
 * pure). Paths and the worker codec come from {@link dev.tessera.proto.zk.ZkLayout} and
 * {@link dev.tessera.proto.zk.WorkerInstanceSerializer}.
 */
package dev.tessera.coordinator.cluster;
