package dev.tessera.worker.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks a token from one row of logits: greedy, or temperature with optional top-k and top-p, seeded.
 *
 * <p>NOTE: each draw uses a generator seeded from (seed, tokenIndex), not a stream shared by the batch, so a
 * sequence samples the same tokens alone, batched with others, after a preemption or on another replica.
 */
public final class Sampler {

    private Sampler() {}

    /** A chosen token and its log-probability under the distribution it was drawn from. */
    public record Choice(int token, float logprob) {}

    /**
     * @param logits     the row, read from {@code offset} for {@code vocab} entries
     * @param tokenIndex index of the token being generated in its sequence (seeds the draw)
     */
    public static Choice sample(float[] logits, int offset, int vocab, SamplingParams p, long tokenIndex) {
        if (p.greedy()) {
            int best = argmax(logits, offset, vocab);
            return new Choice(best, logSoftmaxAt(logits, offset, vocab, best, 1f));
        }
        float t = p.temperature();
        // NOTE: tokens more than 40 nats below the best weigh under 1e-17 of it: they cannot be drawn in double
        // precision, so only the rest are sorted (a few hundred out of 201,088 for a trained model).
        float best = logits[offset + argmax(logits, offset, vocab)];
        // Candidates sorted by logit, descending (ties: lower id first), cut by top-k. NOTE: sorted as packed
        // primitive keys (order-preserving logit bits, then the id): near-flat logits (random weights, high
        // temperatures) leave all 201,088 ids as candidates, and boxing them cost ~80 ms per token.
        long[] keys = new long[vocab];
        int n = 0;
        for (int i = 0; i < vocab; i++)
            if ((logits[offset + i] - best) / t > -40f) keys[n++] = ((long) ~sortable(logits[offset + i]) << 32) | i;
        Arrays.sort(keys, 0, n);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = (int) keys[i];
        int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        double max = logits[offset + order[0]] / t;
        double[] probs = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) sum += (probs[i] = Math.exp(logits[offset + order[i]] / t - max));
        // top-p: the smallest prefix whose mass reaches p (at least one token).
        if (p.topP() < 1f) {
            double mass = 0;
            int cut = 0;
            while (cut < keep) {
                mass += probs[cut++] / sum;
                if (mass >= p.topP()) break;
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) sum += probs[i];
        }
        double u = new SplittableRandom(mix(p.seed(), tokenIndex)).nextDouble() * sum;
        int pick = keep - 1;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += probs[i];
            if (u < acc) { pick = i; break; }
        }
        return new Choice(order[pick], (float) Math.log(probs[pick] / sum));
    }

    /** The float's bits as an int whose signed order is the float's order (-0.0 before 0.0, as Float.compare). */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : bits ^ Integer.MAX_VALUE;
    }

    /**
     * Log-probabilities under the raw logits of one row: {@code log(softmax(logits))} over the whole vocabulary, before
     * temperature, top-k and top-p (what the OpenAI API and vLLM report).
     *
     * @param token        the token whose log-probability is {@code chosen}
     * @param topTokens    the {@code top} most probable tokens, most probable first (ties: lower id first)
     * @param topLogprobs  their log-probabilities
     */
    public record Logprobs(int token, float chosen, int[] topTokens, float[] topLogprobs) {}

    /** The log-probability of {@code token} and the {@code top} most probable tokens of one row of logits. */
    public static Logprobs logprobs(float[] logits, int offset, int vocab, int token, int top) {
        if (top < 0 || top > vocab) throw new IllegalArgumentException("top must be in 0.." + vocab + ", got " + top);
        double max = logits[offset + argmax(logits, offset, vocab)], sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        double logZ = max + Math.log(sum);
        // Insertion into a small sorted prefix: top is at most a few dozen, the vocabulary 201,088.
        int[] best = new int[top];
        int n = 0;
        for (int i = 0; i < vocab && top > 0; i++) {
            float v = logits[offset + i];
            if (n == top && v <= logits[offset + best[n - 1]]) continue;
            int j = n < top ? n++ : n - 1;
            while (j > 0 && logits[offset + best[j - 1]] < v) {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = i;
        }
        float[] lp = new float[top];
        for (int i = 0; i < top; i++) lp[i] = (float) Math.min(0, logits[offset + best[i]] - logZ);
        return new Logprobs(token, (float) Math.min(0, logits[offset + token] - logZ), best, lp);
    }

    /** Index of the largest logit; ties go to the lower id. */
    public static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[offset + i] > logits[offset + best]) best = i;
        return best;
    }

    static float logSoftmaxAt(float[] logits, int offset, int vocab, int index, float temperature) {
        double max = logits[offset + argmax(logits, offset, vocab)] / temperature, sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] / temperature - max);
        return (float) (logits[offset + index] / temperature - max - Math.log(sum));
    }

    private static long mix(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
