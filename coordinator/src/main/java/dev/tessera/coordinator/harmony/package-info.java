/**
 * The harmony chat format of gpt-oss for an OpenAI-compatible chat API: {@link
 * dev.tessera.coordinator.harmony.HarmonyRenderer} turns a {@link dev.tessera.coordinator.harmony.ChatPrompt}
 * (messages, function tools, reasoning effort, a forced function) into prompt token ids, and {@link
 * dev.tessera.coordinator.harmony.HarmonyParser} turns the generated ids back into reasoning, content and tool-call
 * {@link dev.tessera.coordinator.harmony.HarmonyDelta}s as they stream.
 *
 * <p>The renderer is stateless and thread-safe; a parser holds the state of one stream and is confined to the
 * thread that drives it.
 */
package dev.tessera.coordinator.harmony;
