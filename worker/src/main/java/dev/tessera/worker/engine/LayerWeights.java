package dev.tessera.worker.engine;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.backend.Backend.Vec;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.model.ModelConfig;

/** The weights of one transformer layer, as backend handles, with their Hugging Face names and shapes checked. */
record LayerWeights(
        Vec inputNorm,      // [H]
        Matrix q, Vec qBias, // [heads·hd, H], [heads·hd]
        Matrix k, Vec kBias, // [kvHeads·hd, H]
        Matrix v, Vec vBias, // [kvHeads·hd, H]
        Matrix o, Vec oBias, // [H, heads·hd], [H]
        Vec sinks,          // [heads]
        Vec postNorm,       // [H]
        Moe moe) {

    static LayerWeights load(Checkpoint ckpt, ModelConfig c, int layer, Backend b) {
        String p = "model.layers." + layer + ".";
        long h = c.hiddenSize(), qw = c.qWidth(), kvw = c.kvWidth(), e = c.numExperts(), i = c.intermediateSize();
        return new LayerWeights(
                b.vec(ckpt.tensor(p + "input_layernorm.weight", DType.BF16, h)),
                b.matrix(ckpt.tensor(p + "self_attn.q_proj.weight", DType.BF16, qw, h)),
                b.vec(ckpt.tensor(p + "self_attn.q_proj.bias", DType.BF16, qw)),
                b.matrix(ckpt.tensor(p + "self_attn.k_proj.weight", DType.BF16, kvw, h)),
                b.vec(ckpt.tensor(p + "self_attn.k_proj.bias", DType.BF16, kvw)),
                b.matrix(ckpt.tensor(p + "self_attn.v_proj.weight", DType.BF16, kvw, h)),
                b.vec(ckpt.tensor(p + "self_attn.v_proj.bias", DType.BF16, kvw)),
                b.matrix(ckpt.tensor(p + "self_attn.o_proj.weight", DType.BF16, h, qw)),
                b.vec(ckpt.tensor(p + "self_attn.o_proj.bias", DType.BF16, h)),
                b.vec(ckpt.tensor(p + "self_attn.sinks", DType.BF16, c.numHeads())),
                b.vec(ckpt.tensor(p + "post_attention_layernorm.weight", DType.BF16, h)),
                new Moe(
                        b.matrix(ckpt.tensor(p + "mlp.router.weight", DType.BF16, e, h)),
                        b.vec(ckpt.tensor(p + "mlp.router.bias", DType.BF16, e)),
                        b.experts(
                                ckpt.tensor(p + "mlp.experts.gate_up_proj_blocks", DType.U8, e, 2 * i, h / 32, 16),
                                ckpt.tensor(p + "mlp.experts.gate_up_proj_scales", DType.U8, e, 2 * i, h / 32),
                                ckpt.tensor(p + "mlp.experts.gate_up_proj_bias", DType.BF16, e, 2 * i),
                                ckpt.tensor(p + "mlp.experts.down_proj_blocks", DType.U8, e, h, i / 32, 16),
                                ckpt.tensor(p + "mlp.experts.down_proj_scales", DType.U8, e, h, i / 32),
                                ckpt.tensor(p + "mlp.experts.down_proj_bias", DType.BF16, e, h)),
                        c.expertsPerToken(), c.swigluLimit(), c.swigluAlpha()));
    }
}
