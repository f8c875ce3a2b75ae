/**
 * The text side of inference: the o200k_harmony tokenizer ({@link dev.tessera.coordinator.text.Tokenizer}), its
 * special-token table ({@link dev.tessera.coordinator.text.HarmonyTokens}), incremental UTF-8-safe detokenization
 * of a generated stream ({@link dev.tessera.coordinator.text.TextDecoder}) and stop-string matching over streamed
 * text ({@link dev.tessera.coordinator.text.StopStrings}).
 *
 * <p>{@code Tokenizer} is shared and thread-safe; {@code TextDecoder} and {@code StopStrings} hold the state of one
 * stream and are confined to the thread that drives it.
 */
package dev.tessera.coordinator.text;
