/**
 * The Java client of Tessera's Inference service.
 *
 * <p>{@link dev.tessera.client.TesseraClient} is built on a channel ({@code of}), an address ({@code connect}) or
 * the leader coordinator registered in ZooKeeper ({@code fromZooKeeper}), and calls Generate three ways: a
 * {@link dev.tessera.client.GenerationStream} to pull, a {@link dev.tessera.client.GenerationListener} to be told,
 * or a future of the whole {@link dev.tessera.client.Completion}. {@link dev.tessera.client.GenerateRequests} starts
 * requests.
 */
package dev.tessera.client;
