/**
 * The OpenAI-compatible HTTP API: {@link dev.tessera.coordinator.openai.OpenAiGateway} serves
 * {@code /v1/chat/completions}, {@code /v1/completions}, {@code /v1/models}, {@code /health} and {@code /metrics} on
 * Netty, and turns each generation into a call of the leader's Inference service ({@link
 * dev.tessera.coordinator.openai.Upstream}), rendering chats in the harmony format and parsing the model's output
 * back into content, reasoning and tool calls. Errors take OpenAI's JSON shape ({@link
 * dev.tessera.coordinator.openai.ApiError}).
 */
package dev.tessera.coordinator.openai;
