/**
 * The coordinator: {@link dev.tessera.coordinator.Coordinator} ties together leader election and the leader epoch
 * in ZooKeeper and the warm view of the workers ({@code cluster}), one engine loop per replica that schedules
 * continuous batches through the replica's stages ({@code engine}, {@code scheduler}), and the client-facing gRPC
 * Inference service with its tokenizer ({@code api}, {@code text}), the OpenAI-compatible HTTP gateway
 * ({@code openai}) with the harmony chat format ({@code harmony}), and the serving metrics ({@code metrics}).
 */
package dev.tessera.coordinator;
