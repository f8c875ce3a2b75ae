package dev.tessera.worker.engine;

import dev.tessera.worker.backend.AttentionBatch;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.Backend.Activations;
import dev.tessera.worker.backend.Backend.KvCache;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Vec;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.model.Yarn;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The forward pass of gpt-oss (gpt-oss.md §2) for the layers {@code [first, last)} of a model, over a paged KV cache.
 *
 * <p>The first shard embeds token ids; the others take the previous shard's {@link HiddenStates}. The last shard
 * applies the final norm and the unembedding and samples. A shard holding every layer is a whole model. One step
 * carries any mix of sequences — prefill chunks and decode tokens at different positions — as one batch of tokens.
 *
 * <p>The shard owns tensors only: which KV blocks a sequence uses is decided by the caller (the coordinator), and
 * every stage of a replica receives the same block ids.
 */
public final class ModelShard implements StageModel {

    private final ModelConfig config;
    private final ShardSpec spec;
    private final Backend backend;
    private final Yarn yarn;
    private final Matrix embedding;     // [vocab, H], first shard only
    private final List<LayerWeights> layers;
    private final Vec finalNorm;        // [H], last shard only
    private final Matrix unembedding;   // [vocab, H], last shard only
    private final KvCache kv;

    private ModelShard(ModelConfig config, ShardSpec spec, Backend backend, Matrix embedding, List<LayerWeights> layers,
                       Vec finalNorm, Matrix unembedding) {
        this.config = config;
        this.spec = spec;
        this.backend = backend;
        this.yarn = Yarn.of(config);
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.unembedding = unembedding;
        this.kv = backend.allocateKv(spec.layerCount(), spec.kvBlocks(), spec.kvBlockSize(), config.numKvHeads(),
                config.headDim());
    }

    /** Binds the shard's weights from a mapped checkpoint; shapes are checked against the config as they load. */
    public static ModelShard load(Checkpoint ckpt, ModelConfig config, ShardSpec spec, Backend backend) {
        return load(new CheckpointWeights(ckpt, backend), config, spec, backend);
    }

    /** Binds the shard's weights from {@code weights}, which must have been made for {@code backend}. */
    public static ModelShard load(WeightSource weights, ModelConfig config, ShardSpec spec, Backend backend) {
        if (spec.lastLayer() > config.numLayers())
            throw new IllegalArgumentException("layer range [" + spec.firstLayer() + ", " + spec.lastLayer()
                    + ") exceeds the model's " + config.numLayers() + " layers");
        int v = config.vocabSize(), h = config.hiddenSize();
        Matrix embedding = spec.firstLayer() == 0 ? weights.matrix("model.embed_tokens.weight", v, h) : null;
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = spec.firstLayer(); l < spec.lastLayer(); l++) layers.add(LayerWeights.load(weights, config, l));
        boolean last = spec.lastLayer() == config.numLayers();
        Vec norm = last ? weights.vec("model.norm.weight", h) : null;
        Matrix head = last ? weights.matrix("lm_head.weight", v, h) : null;
        return new ModelShard(config, spec, backend, embedding, layers, norm, head);
    }

    /**
     * The bytes of the weights a shard of layers {@code [first, last)} binds, as the checkpoint stores them: the
     * embedding on the first shard, each layer's tensors, the final norm and the unembedding on the last.
     */
    public static long weightBytes(Checkpoint ckpt, ModelConfig config, int first, int last) {
        long bytes = 0;
        for (String name : ckpt.names()) {
            boolean mine;
            if (name.startsWith("model.layers.")) {
                int dot = name.indexOf('.', "model.layers.".length());
                int layer = Integer.parseInt(name.substring("model.layers.".length(), dot));
                mine = layer >= first && layer < last;
            } else if (name.equals("model.embed_tokens.weight")) {
                mine = first == 0;
            } else {
                mine = last == config.numLayers();  // model.norm.weight, lm_head.weight
            }
            if (mine) bytes += ckpt.tensor(name).data().byteSize();
        }
        return bytes;
    }

    public ModelConfig config() { return config; }

    @Override
    public ShardSpec spec() { return spec; }

    @Override
    public boolean isFirst() { return embedding != null; }

    @Override
    public boolean isLast() { return unembedding != null; }

    /** The model's hidden size: stages exchange the full residual stream. */
    @Override
    public int hiddenWidth() { return config.hiddenSize(); }

    /**
     * Runs one step through this shard's layers. Every activation it allocates is given back to the backend
     * ({@link Backend#release}) before it returns or throws, so a device backend reuses them the next step.
     */
    @Override
    public ShardOutput forward(ShardStep step) {
        StepLayout at = StepLayout.of(step, spec, isFirst());
        List<Activations> temporaries = new ArrayList<>();
        try {
            return forward(step, at, temporaries);
        } finally {
            for (Activations a : temporaries) backend.release(a);
        }
    }

    private ShardOutput forward(ShardStep step, StepLayout at, List<Activations> temporaries) {
        int tokens = at.tokens(), h = config.hiddenSize();
        Map<Integer, float[]> trace = step.trace() ? new HashMap<>() : null;

        Activations x;
        if (isFirst()) {
            x = held(temporaries, backend.allocate(tokens, h));
            backend.embed(at.tokenIds(), embedding, x);
            if (trace != null) trace.put(0, backend.download(x));
        } else {
            if (step.hidden() == null || step.hidden().tokens() != tokens || step.hidden().width() != h)
                throw new IllegalArgumentException("stage " + spec.firstLayer() + ".." + spec.lastLayer()
                        + " needs hidden states [" + tokens + ", " + h + "] from the previous stage, got "
                        + (step.hidden() == null ? "none" : "[" + step.hidden().tokens() + ", " + step.hidden().width() + "]"));
            x = held(temporaries, backend.upload(step.hidden().toFloats(), tokens, h));
        }

        Activations normed = held(temporaries, backend.allocate(tokens, h));
        Activations q = held(temporaries, backend.allocate(tokens, config.qWidth()));
        Activations k = held(temporaries, backend.allocate(tokens, config.kvWidth()));
        Activations v = held(temporaries, backend.allocate(tokens, config.kvWidth()));
        Activations attn = held(temporaries, backend.allocate(tokens, config.qWidth()));
        Activations delta = held(temporaries, backend.allocate(tokens, h));
        float scale = (float) (1.0 / Math.sqrt(config.headDim()));
        for (int i = 0; i < layers.size(); i++) {
            LayerWeights w = layers.get(i);
            int layer = spec.firstLayer() + i;
            // attention sub-block
            backend.rmsNorm(x, w.inputNorm(), config.rmsNormEps(), normed);
            backend.qkvRope(normed, w.qkv(), config.headDim(), at.positions(), yarn.invFreq(), yarn.concentration(), q, k, v);
            // NOTE: every key of the chunk is written before attention reads the cache, so a prefill chunk sees its
            // own earlier tokens; the causal and sliding masks come from positions alone.
            backend.writeKv(k, v, kv, i, at.slots());
            int window = config.isSliding(layer) ? config.slidingWindow() : 0;
            backend.attention(q, kv, i, at.batch(), w.sinks(), window, scale, attn);
            backend.linear(attn, w.o(), w.oBias(), delta);
            backend.add(x, delta);
            // MoE sub-block
            backend.rmsNorm(x, w.postNorm(), config.rmsNormEps(), normed);
            backend.moe(normed, w.moe(), delta);
            backend.add(x, delta);
            if (trace != null) trace.put(layer + 1, backend.download(x));
        }

        if (!isLast()) return new ShardOutput(HiddenStates.of(backend.download(x), tokens, h), null, 0, List.of(), trace);

        backend.rmsNorm(x, finalNorm, config.rmsNormEps(), normed);
        if (trace != null) trace.put(ShardOutput.FINAL_NORM, backend.download(normed));
        int[] rows = step.allLogits() ? at.allRows() : at.sampledRows();
        float[] logits = null;
        List<ShardOutput.Sampled> sampled = new ArrayList<>();
        if (rows.length > 0) {
            Activations picked = held(temporaries, backend.allocate(rows.length, h));
            backend.gather(normed, rows, picked);
            Activations out = held(temporaries, backend.allocate(rows.length, config.vocabSize()));
            backend.linear(picked, unembedding, null, out);
            Backend.Greedy greedy = onlyGreedyChoicesWanted(step) ? backend.greedy(out) : null;
            if (greedy != null) {
                sampled = chosen(step, at, rows, greedy);  // NOTE: no logits leave the backend: nobody asked for them
            } else {
                logits = backend.download(out);
                sampled = sample(step, at, rows, logits);
            }
        }
        return new ShardOutput(null, logits, rows.length, sampled, trace);
    }

    private static Activations held(List<Activations> temporaries, Activations a) {
        temporaries.add(a);
        return a;
    }

    /** Whether the step needs nothing from the logits but greedy choices: no log-probabilities, no full logits. */
    private static boolean onlyGreedyChoicesWanted(ShardStep step) {
        if (step.allLogits() || step.logitsWanted() || step.trace()) return false;
        for (SequenceChunk seq : step.sequences()) if (seq.sample() && !seq.sampling().greedy()) return false;
        return true;
    }

    /** The sampled sequences' tokens from greedy choices made by the backend, one row per sampled sequence. */
    private List<ShardOutput.Sampled> chosen(ShardStep step, StepLayout at, int[] rows, Backend.Greedy greedy) {
        List<ShardOutput.Sampled> out = new ArrayList<>();
        for (int s = 0; s < step.sequences().size(); s++) {
            SequenceChunk seq = step.sequences().get(s);
            if (!seq.sample()) continue;
            int row = java.util.Arrays.binarySearch(rows, at.lastRowOf(s));
            out.add(new ShardOutput.Sampled(seq.seqId(), greedy.tokens()[row], greedy.logprobs()[row]));
        }
        return out;
    }

    private List<ShardOutput.Sampled> sample(ShardStep step, StepLayout at, int[] rows, float[] logits) {
        List<ShardOutput.Sampled> out = new ArrayList<>();
        int vocab = config.vocabSize();
        for (int s = 0; s < step.sequences().size(); s++) {
            SequenceChunk seq = step.sequences().get(s);
            if (!seq.sample()) continue;
            int row = java.util.Arrays.binarySearch(rows, at.lastRowOf(s));
            Sampler.Choice c = Sampler.sample(logits, row * vocab, vocab, seq.sampling(), seq.endPosition());
            out.add(new ShardOutput.Sampled(seq.seqId(), c.token(), c.logprob()));
        }
        return out;
    }

    @Override
    public void close() {
        // Weights are views of the mapped checkpoint, closed with it (or device copies, freed with the backend, as is
        // the KV cache).
    }
}
