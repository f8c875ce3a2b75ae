package dev.tessera.worker.checkpoint;

import dev.tessera.worker.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a gpt-oss checkpoint in the Hugging Face layout (gpt-oss.md §3.2): 19 per layer plus 3 global ones,
 * MXFP4 experts as U8 blocks and scales, everything else BF16.
 */
public final class GptOssLayout {

    /** Tensors per layer. */
    public static final int PER_LAYER = 19;
    /** Tensors outside the layers: the embedding, the final norm and the unembedding. */
    public static final int GLOBAL = 3;

    private GptOssLayout() {}

    /** Every tensor the model described by {@code config} needs, in checkpoint order. */
    public static List<TensorSpec> tensors(ModelConfig c) {
        return tensors(c.numLayers(), c.numExperts(), c.hiddenSize(), c.intermediateSize(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.vocabSize());
    }

    /** Every tensor, in checkpoint order: embedding, then layer by layer, then final norm and unembedding. */
    public static List<TensorSpec> tensors(int layers, int experts, int hidden, int intermediate, int heads,
                                           int kvHeads, int headDim, int vocab) {
        List<TensorSpec> out = new ArrayList<>(layers * PER_LAYER + GLOBAL);
        out.add(bf16("model.embed_tokens.weight", TensorSpec.Role.EMBEDDING, vocab, hidden));
        for (int i = 0; i < layers; i++)
            out.addAll(layer(i, experts, hidden, intermediate, heads, kvHeads, headDim));
        out.add(bf16("model.norm.weight", TensorSpec.Role.NORM, hidden));
        out.add(bf16("lm_head.weight", TensorSpec.Role.MATRIX, vocab, hidden));
        return out;
    }

    /** The 19 tensors of layer {@code i}. */
    public static List<TensorSpec> layer(int i, int experts, int hidden, int intermediate, int heads, int kvHeads,
                                         int headDim) {
        String p = "model.layers." + i + ".";
        int q = heads * headDim, kv = kvHeads * headDim;
        int hiddenGroups = hidden / Mxfp4.GROUP, intermediateGroups = intermediate / Mxfp4.GROUP;
        return List.of(
                bf16(p + "input_layernorm.weight", TensorSpec.Role.NORM, hidden),
                bf16(p + "self_attn.q_proj.weight", TensorSpec.Role.MATRIX, q, hidden),
                bf16(p + "self_attn.q_proj.bias", TensorSpec.Role.BIAS, q),
                bf16(p + "self_attn.k_proj.weight", TensorSpec.Role.MATRIX, kv, hidden),
                bf16(p + "self_attn.k_proj.bias", TensorSpec.Role.BIAS, kv),
                bf16(p + "self_attn.v_proj.weight", TensorSpec.Role.MATRIX, kv, hidden),
                bf16(p + "self_attn.v_proj.bias", TensorSpec.Role.BIAS, kv),
                bf16(p + "self_attn.o_proj.weight", TensorSpec.Role.MATRIX, hidden, q),
                bf16(p + "self_attn.o_proj.bias", TensorSpec.Role.BIAS, hidden),
                bf16(p + "self_attn.sinks", TensorSpec.Role.SINKS, heads),
                bf16(p + "post_attention_layernorm.weight", TensorSpec.Role.NORM, hidden),
                bf16(p + "mlp.router.weight", TensorSpec.Role.MATRIX, experts, hidden),
                bf16(p + "mlp.router.bias", TensorSpec.Role.BIAS, experts),
                // gate_up: rows 2j (gate) and 2j+1 (up) interleaved, input = hidden
                u8(p + "mlp.experts.gate_up_proj_blocks", TensorSpec.Role.MXFP4_BLOCKS, experts, 2L * intermediate, hiddenGroups, Mxfp4.GROUP_BYTES),
                u8(p + "mlp.experts.gate_up_proj_scales", TensorSpec.Role.MXFP4_SCALES, experts, 2L * intermediate, hiddenGroups),
                bf16(p + "mlp.experts.gate_up_proj_bias", TensorSpec.Role.BIAS, experts, 2L * intermediate),
                // down: input = intermediate
                u8(p + "mlp.experts.down_proj_blocks", TensorSpec.Role.MXFP4_BLOCKS, experts, hidden, intermediateGroups, Mxfp4.GROUP_BYTES),
                u8(p + "mlp.experts.down_proj_scales", TensorSpec.Role.MXFP4_SCALES, experts, hidden, intermediateGroups),
                bf16(p + "mlp.experts.down_proj_bias", TensorSpec.Role.BIAS, experts, hidden));
    }

    /** The sum of the tensors' bytes: a checkpoint index's {@code total_size}. */
    public static long totalBytes(List<TensorSpec> specs) {
        long sum = 0;
        for (TensorSpec s : specs) sum = Math.addExact(sum, s.byteSize());
        return sum;
    }

    private static TensorSpec bf16(String name, TensorSpec.Role role, long... shape) {
        return new TensorSpec(name, DType.BF16, shape, role);
    }

    private static TensorSpec u8(String name, TensorSpec.Role role, long... shape) {
        return new TensorSpec(name, DType.U8, shape, role);
    }
}
