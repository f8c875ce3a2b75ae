/**
 * The coordinator: leader election and the leader epoch in ZooKeeper, worker membership, the scheduler and the
 * engine loop that drives batches through a replica's stages, and the client-facing gRPC and HTTP services.
 *
 * <p>Built in the cluster issue; this module holds only the contracts' dependency until then.
 */
package dev.tessera.coordinator;
