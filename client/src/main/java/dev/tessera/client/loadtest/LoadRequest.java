package dev.tessera.client.loadtest;

/**
 * One request a workload produces: a prompt (token ids, or text when the workload is text) and how many tokens to
 * ask for.
 *
 * @param index        its place in the workload's sequence
 * @param promptIds    the prompt as token ids, or null for a text prompt
 * @param promptText   the prompt text, or null for an id prompt
 * @param promptTokens the prompt's length in tokens (o200k tokens for text)
 * @param outputTokens tokens to generate (the harness asks the server to ignore stop tokens, for a fixed length)
 */
public record LoadRequest(int index, int[] promptIds, String promptText, int promptTokens, int outputTokens) {

    public LoadRequest {
        if ((promptIds == null) == (promptText == null)) throw new IllegalArgumentException("exactly one prompt form");
        if (outputTokens < 1) throw new IllegalArgumentException("outputTokens must be >= 1");
    }
}
