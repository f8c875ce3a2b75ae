package dev.tessera.worker.serve;

import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.model.ModelConfig;

/**
 * What a stage is, fixed before it loads: the facts a Forward stream is checked against and that
 * {@link dev.tessera.proto.v1.WorkerInfo} reports.
 *
 * @param workerId         WorkerInfo.worker_id
 * @param model            the model's name, e.g. "gpt-oss-120b"
 * @param fingerprint      see {@link ModelFingerprint}
 * @param firstLayer       first layer held, inclusive
 * @param lastLayer        end of the layers held, exclusive
 * @param numLayers        layers in the whole model
 * @param hiddenSize       width of the residual stream (the hidden states' row)
 * @param vocabSize        valid token ids are {@code 0 .. vocabSize - 1}
 * @param maxContextTokens most positions a sequence may have
 * @param kvBlocks         blocks in the KV pool: valid block ids are {@code 0 .. kvBlocks - 1}
 * @param kvBlockSize      tokens per KV block
 * @param maxBatchTokens   most tokens accepted in one step
 * @param device           the device, for humans (WorkerInfo.device)
 * @param latencyModel     a simulated stage's latency model ({@link dev.tessera.worker.sim.LatencyModel#describe()});
 *                         empty for a stage that computes
 */
public record StageIdentity(String workerId, String model, String fingerprint, int firstLayer, int lastLayer,
                            int numLayers, int hiddenSize, int vocabSize, int maxContextTokens, int kvBlocks,
                            int kvBlockSize, int maxBatchTokens, String device, String latencyModel) {

    public StageIdentity {
        if (workerId == null || workerId.isBlank()) throw new IllegalArgumentException("a stage needs a worker id");
        if (fingerprint == null || fingerprint.isBlank()) throw new IllegalArgumentException("a stage needs a model fingerprint");
        if (model == null) model = "";
        if (device == null) device = "";
        if (latencyModel == null) latencyModel = "";
        if (firstLayer < 0 || lastLayer <= firstLayer || lastLayer > numLayers)
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + lastLayer + ") does not fit a model of "
                    + numLayers + " layers");
        if (hiddenSize <= 0 || vocabSize <= 0 || maxContextTokens <= 0)
            throw new IllegalArgumentException("hidden size, vocabulary and context must be positive");
        if (kvBlocks <= 0 || kvBlockSize <= 0 || maxBatchTokens <= 0)
            throw new IllegalArgumentException("KV blocks, KV block size and max batch tokens must be positive");
    }

    /** The identity of a stage that runs {@code spec} of the model {@code config}. */
    public static StageIdentity of(String workerId, String model, String fingerprint, ModelConfig config, ShardSpec spec,
                                   int maxContextTokens, int maxBatchTokens, String device) {
        return new StageIdentity(workerId, model, fingerprint, spec.firstLayer(), spec.lastLayer(), config.numLayers(),
                config.hiddenSize(), config.vocabSize(), maxContextTokens, spec.kvBlocks(), spec.kvBlockSize(),
                maxBatchTokens, device, "");
    }

    /**
     * The identity of a simulated stage: hidden states {@code payloadWidth} wide instead of the model's hidden size,
     * and the latency model it reports.
     */
    public StageIdentity simulated(int payloadWidth, String latencyModel) {
        if (latencyModel == null || latencyModel.isBlank()) throw new IllegalArgumentException("a simulated stage reports its latency model");
        return new StageIdentity(workerId, model, fingerprint, firstLayer, lastLayer, numLayers, payloadWidth, vocabSize,
                maxContextTokens, kvBlocks, kvBlockSize, maxBatchTokens, device, latencyModel);
    }

    /** Whether the stage simulates (no model math; WorkerInfo.simulated). */
    public boolean simulated() { return !latencyModel.isEmpty(); }

    /** The first stage embeds tokens. */
    public boolean isFirst() { return firstLayer == 0; }

    /** The last stage norms, unembeds and samples. */
    public boolean isLast() { return lastLayer == numLayers; }

    public String layers() { return "[" + firstLayer + "," + lastLayer + ")"; }
}
