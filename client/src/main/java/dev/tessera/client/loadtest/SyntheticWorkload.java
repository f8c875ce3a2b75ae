package dev.tessera.client.loadtest;

import java.util.Random;

/**
 * Prompts of random tokens with lengths from distributions, optionally all starting with one shared prefix (the
 * workload of prefix caching and of long system prompts).
 *
 * <p>Token-id prompts are exact in length and need no tokenizer, so they fit any checkpoint (set {@code idLimit} to
 * its vocabulary). Text prompts are made of common English words, each one o200k token, and are measured with
 * {@link PromptTokens}; they serve the chat endpoint, which takes text only.
 *
 * @param promptLength tokens per prompt, the shared prefix included
 * @param outputLength tokens to generate per request
 * @param sharedPrefix tokens every prompt starts with (0 for none; at most the shortest prompt)
 * @param idLimit      token ids are drawn from [0, idLimit) for id prompts
 * @param text         text prompts instead of token ids
 * @param prefixSeed   seed of the shared prefix, the same for every request of the run
 */
public record SyntheticWorkload(LengthDistribution promptLength, LengthDistribution outputLength, int sharedPrefix,
                                int idLimit, boolean text, long prefixSeed) implements Workload {

    /** Words that are each one o200k token with their leading space. */
    private static final String[] WORDS = {" the", " of", " and", " to", " in", " is", " that", " for", " it", " as",
            " was", " with", " be", " on", " not", " he", " by", " are", " this", " at", " from", " but", " have",
            " an", " they", " which", " one", " you", " were", " all", " we", " her", " she", " there", " would"};

    public SyntheticWorkload {
        if (sharedPrefix < 0) throw new IllegalArgumentException("sharedPrefix must be >= 0");
        if (idLimit < 2) throw new IllegalArgumentException("idLimit must be >= 2");
    }

    @Override
    public LoadRequest next(int index, Random random) {
        int length = Math.max(promptLength.draw(random), sharedPrefix + 1);
        int output = outputLength.draw(random);
        Random prefix = new Random(prefixSeed);
        if (text) {
            StringBuilder b = new StringBuilder(length * 5);
            for (int i = 0; i < length; i++) b.append(WORDS[(i < sharedPrefix ? prefix : random).nextInt(WORDS.length)]);
            String prompt = b.toString();
            return new LoadRequest(index, null, prompt, PromptTokens.count(prompt), output);
        }
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) ids[i] = (i < sharedPrefix ? prefix : random).nextInt(idLimit);
        return new LoadRequest(index, ids, null, length, output);
    }

    @Override
    public String describe() {
        return "prompt " + promptLength + " tokens (" + (text ? "text" : "random token ids below " + idLimit) + ")"
                + (sharedPrefix > 0 ? ", " + sharedPrefix + " of them a shared prefix" : "") + ", output " + outputLength + " tokens";
    }
}
