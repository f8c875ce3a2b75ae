package dev.tessera.worker.engine;

import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.backend.Backend.Qkv;
import dev.tessera.worker.backend.Backend.Vec;
import dev.tessera.worker.model.ModelConfig;

/** The weights of one transformer layer, as backend handles, with their Hugging Face names and shapes checked. */
record LayerWeights(
        Vec inputNorm,      // [H]
        Qkv qkv,            // q [heads·hd, H], k and v [kvHeads·hd, H], with biases
        Matrix o, Vec oBias, // [H, heads·hd], [H]
        Vec sinks,          // [heads]
        Vec postNorm,       // [H]
        Moe moe) {

    static LayerWeights load(WeightSource w, ModelConfig c, int layer) {
        String p = "model.layers." + layer + ".";
        int h = c.hiddenSize(), qw = c.qWidth(), kvw = c.kvWidth();
        return new LayerWeights(
                w.vec(p + "input_layernorm.weight", h),
                new Qkv(w.matrix(p + "self_attn.q_proj.weight", qw, h),
                        w.vec(p + "self_attn.q_proj.bias", qw),
                        w.matrix(p + "self_attn.k_proj.weight", kvw, h),
                        w.vec(p + "self_attn.k_proj.bias", kvw),
                        w.matrix(p + "self_attn.v_proj.weight", kvw, h),
                        w.vec(p + "self_attn.v_proj.bias", kvw)),
                w.matrix(p + "self_attn.o_proj.weight", h, qw),
                w.vec(p + "self_attn.o_proj.bias", h),
                w.vec(p + "self_attn.sinks", c.numHeads()),
                w.vec(p + "post_attention_layernorm.weight", h),
                new Moe(
                        w.matrix(p + "mlp.router.weight", c.numExperts(), h),
                        w.vec(p + "mlp.router.bias", c.numExperts()),
                        w.experts(p + "mlp.experts.", c.numExperts(), c.intermediateSize(), h),
                        c.expertsPerToken(), c.swigluLimit(), c.swigluAlpha()));
    }
}
