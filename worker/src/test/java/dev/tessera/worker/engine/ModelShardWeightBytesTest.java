package dev.tessera.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.model.ModelConfig;
import org.junit.jupiter.api.Test;

/** The weight bytes a shard binds, which a worker on a GPU subtracts from free memory before sizing its KV pool. */
class ModelShardWeightBytesTest {

    @Test
    void shardsPartitionTheCheckpointsBytes() throws Exception {
        var tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        try (Checkpoint ckpt = Checkpoint.open(tiny)) {
            long whole = ModelShard.weightBytes(ckpt, config, 0, 4);
            assertEquals(ckpt.totalBytes(), whole);
            long a = ModelShard.weightBytes(ckpt, config, 0, 1), b = ModelShard.weightBytes(ckpt, config, 1, 3),
                    c = ModelShard.weightBytes(ckpt, config, 3, 4);
            assertEquals(whole, a + b + c);
            long embedding = ckpt.tensor("model.embed_tokens.weight").data().byteSize();
            long head = ckpt.tensor("lm_head.weight").data().byteSize() + ckpt.tensor("model.norm.weight").data().byteSize();
            assertEquals(b, (a - embedding) * 2, "middle layers weigh the same");
            assertEquals(c - head, a - embedding, "a layer weighs the same wherever it is");
            assertTrue(embedding > 0 && head > 0);
        }
    }
}
