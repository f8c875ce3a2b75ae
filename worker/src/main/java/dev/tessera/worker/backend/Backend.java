package dev.tessera.worker.backend;

import dev.tessera.worker.checkpoint.Tensor;

/**
 * The operations a model shard needs, batch-first: every activation is a row-major {@code [tokens, width]} float32
 * matrix, and one call covers every token of a step, whatever sequences they belong to.
 *
 * <p>Weights and activations live where the backend computes (the heap for the CPU backends, device memory for CUDA);
 * the handles below are opaque to the engine. Weights come from the mapped checkpoint as they are stored: bf16
 * matrices, MXFP4 experts. Each backend is checked against {@link ScalarBackend}, the plain-loop definition of every op.
 *
 * <p>Thread safety: a backend is driven by one thread at a time (the shard's step loop); it may use more threads inside
 * an op.
 */
public interface Backend extends AutoCloseable {

    /** A bf16 weight matrix {@code [rows, cols]}, applied as {@code y = x · Wᵀ} (PyTorch's Linear convention). */
    interface Matrix {
        int rows();
        int cols();
    }

    /** A bf16 weight vector (a norm gain, a bias, the attention sinks). */
    interface Vec {
        int size();
    }

    /**
     * The MXFP4 experts of one layer: gate_up {@code [E, 2·I, H]} with gate and up interleaved by row, down
     * {@code [E, H, I]}, each with its bf16 bias.
     */
    interface Experts {
        int count();
        int hidden();
        int intermediate();
    }

    /** A float32 activation matrix {@code [rows, cols]}. */
    interface Activations {
        int rows();
        int cols();
    }

    /** A paged KV cache for the layers of one shard: {@code [layers][blocks][blockSize][kvHeads][headDim]} for K and V. */
    interface KvCache {
        int layers();
        int blocks();
        int blockSize();
        int kvHeads();
        int headDim();
    }

    /** The attention block's input projections: q {@code [heads·hd, H]}, k and v {@code [kvHeads·hd, H]}, with biases. */
    record Qkv(Matrix q, Vec qBias, Matrix k, Vec kBias, Matrix v, Vec vBias) {}

    /** The router and experts of one MoE block, with its activation constants. */
    record Moe(Matrix router, Vec routerBias, Experts experts, int expertsPerToken, float swigluLimit, float swigluAlpha) {}

    String name();

    Matrix matrix(Tensor bf16);

    Vec vec(Tensor bf16);

    Experts experts(Tensor gateUpBlocks, Tensor gateUpScales, Tensor gateUpBias,
                    Tensor downBlocks, Tensor downScales, Tensor downBias);

    Activations allocate(int rows, int cols);

    /** Copies host floats ({@code rows·cols} of them, row-major) into a new activation matrix. */
    Activations upload(float[] data, int rows, int cols);

    /** Copies an activation matrix to the host. */
    float[] download(Activations a);

    /**
     * Gives back an activation matrix from {@link #allocate} or {@link #upload} that the caller no longer uses; it must
     * not be used afterwards. Backends whose activations live on the Java heap leave it to the garbage collector (the
     * default does nothing); a device backend reuses the memory for the next step's activations.
     */
    default void release(Activations a) {}

    KvCache allocateKv(int layers, int blocks, int blockSize, int kvHeads, int headDim);

    /** {@code out[t] = table[tokens[t]]}. */
    void embed(int[] tokens, Matrix table, Activations out);

    /** {@code out[t] = x[t] / sqrt(mean(x[t]²) + eps) · gain}, the mean over the row, in float32. */
    void rmsNorm(Activations x, Vec gain, float eps, Activations out);

    /** {@code out[t, o] = Σ_i x[t, i] · W[o, i] + bias[o]}; {@code bias} may be null. */
    void linear(Activations x, Matrix w, Vec bias, Activations out);

    /**
     * Rotates each {@code headDim}-wide head of {@code x} in place, NeoX half-split style: element {@code i} pairs
     * with {@code i + headDim/2} and turns by {@code positions[t] · invFreq[i]}; both cos and sin are multiplied by
     * {@code concentration} (YaRN's attention factor).
     */
    void rope(Activations x, int headDim, int[] positions, float[] invFreq, float concentration);

    /**
     * The attention block's projections and rotary embedding: {@code q = linear(x, Wq, bq)}, k and v likewise, then
     * {@link #rope} on q and k. A backend may do it in one pass; the result is that of the five ops.
     */
    default void qkvRope(Activations x, Qkv w, int headDim, int[] positions, float[] invFreq, float concentration,
                         Activations q, Activations k, Activations v) {
        linear(x, w.q(), w.qBias(), q);
        linear(x, w.k(), w.kBias(), k);
        linear(x, w.v(), w.vBias(), v);
        rope(q, headDim, positions, invFreq, concentration);
        rope(k, headDim, positions, invFreq, concentration);
    }

    /** Stores each token's key and value rows at its cache slot ({@code block · blockSize + offset}). */
    void writeKv(Activations k, Activations v, KvCache cache, int layer, int[] slots);

    /**
     * Attention with sinks over the paged cache (gpt-oss.md §2.3). Token {@code t} is at {@code batch.positions[t]} of
     * sequence {@code batch.sequenceOf[t]} and sees that sequence's keys at positions {@code p ≤ position} (and
     * {@code p > position − window} when {@code window > 0}). Query head {@code h} reads KV head
     * {@code h / (heads / kvHeads)}. The sink of head h joins the softmax denominator with no value.
     */
    void attention(Activations q, KvCache cache, int layer, AttentionBatch batch, Vec sinks, int window, float scale,
                   Activations out);

    /**
     * The MoE block: router logits, top-k (ties to the lower expert index), softmax over the k, then for each chosen
     * expert {@code y = W2 · swiglu(W1 · x + b1) + b2}, summed with the routing weights. The swiglu is
     * {@code g = min(gate, limit)}, {@code u = clamp(up, −limit, limit)}, {@code g · σ(alpha · g) · (u + 1)}.
     */
    void moe(Activations x, Moe moe, Activations out);

    /** {@code out[i] = x[rows[i]]}: picks the rows a step needs logits for. */
    void gather(Activations x, int[] rows, Activations out);

    /** {@code x += y}, element-wise. */
    void add(Activations x, Activations y);

    /** Greedy choices for rows of logits: each row's argmax (the lowest index among equals) and its log-probability. */
    record Greedy(int[] tokens, float[] logprobs) {}

    /**
     * Picks each row's greedy token where the backend computes, so that only the choices leave it, not the logits;
     * null where the backend has no such shortcut (the host backends: their logits are already on the host).
     */
    default Greedy greedy(Activations logits) { return null; }

    @Override
    void close();
}
