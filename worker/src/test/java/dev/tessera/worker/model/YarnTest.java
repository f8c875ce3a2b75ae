package dev.tessera.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.worker.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The YaRN table against gpt-oss.md §2.3. */
class YarnTest {

    /** inv_freq for head_dim 64, base 150000, factor 32 (computed in float64 in the spec). */
    private static final double[] INV_FREQ_64 = {1.0, 0.6890443, 0.4747821, 0.3271459, 0.2254180, 0.1553230, 0.1070244,
            0.07374457, 0.05081327, 0.03170570, 0.01933500, 0.01159205, 6.794959e-3, 3.860359e-3, 2.093792e-3,
            1.052602e-3, 4.564839e-4, 1.293187e-4, 3.830881e-5, 2.639647e-5, 1.818834e-5, 1.253257e-5, 8.635496e-6,
            5.950239e-6, 4.099978e-6, 2.825067e-6, 1.946596e-6, 1.341291e-6, 9.242090e-7, 6.368209e-7, 4.387978e-7,
            3.023511e-7};

    static ModelConfig config(int headDim) {
        int heads = 64, layers = 2;
        return new ModelConfig(2880, layers, heads, 8, headDim, 32, 4, 2880, 201088, 128, List.of(true, false),
                1e-5f, 7f, 1.702f, new ModelConfig.Rope(150000, 32, 32, 1, 4096));
    }

    @Test
    void matchesTheSpecForHeadDim64() {
        Yarn y = Yarn.of(config(64));
        assertEquals(32, y.invFreq().length);
        for (int i = 0; i < 32; i++)
            assertEquals(INV_FREQ_64[i], y.invFreq()[i], INV_FREQ_64[i] * 1e-6, "inv_freq[" + i + "]");
        assertEquals(1.3465735902799727, y.concentration(), 1e-7);
        assertEquals(8.092779115512402, y.low(), 1e-12);
        assertEquals(17.39802450158856, y.high(), 1e-12);
    }

    @Test
    void correctionRangeFollowsTheHeadDim() {
        Yarn y = Yarn.of(config(32));
        assertEquals(4.0464, y.low(), 1e-4);
        assertEquals(8.6990, y.high(), 1e-4);
        assertEquals(1.0f, y.invFreq()[0]);
    }

    @Test
    void bothRopeFormsOfConfigJsonAgree() throws Exception {
        ModelConfig published = ModelConfig.load(Fixtures.tiny());
        String newer = """
                {"num_hidden_layers": 4, "hidden_size": 128, "num_attention_heads": 8, "num_key_value_heads": 2,
                 "head_dim": 32, "num_local_experts": 8, "num_experts_per_tok": 4, "intermediate_size": 64,
                 "vocab_size": 512, "sliding_window": 8, "rms_norm_eps": 1e-05,
                 "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
                 "rope_parameters": {"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                                     "beta_slow": 1.0, "original_max_position_embeddings": 4096, "truncate": false}}""";
        ModelConfig parsed = ModelConfig.parse(new ObjectMapper().readTree(newer));
        assertEquals(published, parsed);
        assertEquals(7.0f, parsed.swigluLimit(), "absent swiglu_limit defaults to 7.0");
        assertEquals(List.of(true, false, true, false), parsed.slidingLayers());
    }
}
