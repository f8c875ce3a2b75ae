package dev.tessera.worker.verify;

import dev.tessera.worker.checkpoint.CheckpointException;
import dev.tessera.worker.checkpoint.SafetensorsFile;
import dev.tessera.worker.checkpoint.Tensor;
import java.nio.file.Path;

/**
 * What transformers computed for a checkpoint (the layout of ../shared/tools/hf_golden.py): the input ids, the
 * logits and residual stream of one forward pass over them, and a greedy continuation of their first half.
 *
 * @param logits       [tokens · vocab]
 * @param hidden       [layers + 1][tokens · hidden]: the embedding output, each layer's output, and last the final
 *                     norm's output in place of the last layer's raw output (transformers reports it that way)
 * @param genTokens    greedy tokens that continue {@code inputIds[0 .. genPromptLen)}
 * @param genMargins   top-1 minus top-2 logit at each generated step
 */
public record Golden(int[] inputIds, float[] logits, int vocab, float[][] hidden, int hiddenWidth, int genPromptLen,
                     int[] genTokens, float[] genMargins) {

    public static Golden load(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            int[] ids = required(f, "input_ids").toInts();
            Tensor logits = required(f, "logits");
            Tensor hidden = required(f, "hidden_states");
            if (logits.rank() != 2 || logits.dim(0) != ids.length)
                throw new CheckpointException(file, "logits should be [" + ids.length + ", vocab], got "
                        + java.util.Arrays.toString(logits.shape()));
            if (hidden.rank() != 3 || hidden.dim(1) != ids.length)
                throw new CheckpointException(file, "hidden_states should be [layers + 1, " + ids.length
                        + ", hidden], got " + java.util.Arrays.toString(hidden.shape()));
            float[] all = hidden.toFloats();
            int per = hidden.dim(1) * hidden.dim(2);
            float[][] states = new float[hidden.dim(0)][];
            for (int i = 0; i < states.length; i++) states[i] = java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per);
            int[] gen = required(f, "gen_tokens").toInts();
            float[] margins = required(f, "gen_margins").toFloats();
            int promptLen = required(f, "gen_prompt_len").toInts()[0];
            if (promptLen < 1 || promptLen > ids.length || margins.length != gen.length)
                throw new CheckpointException(file, "gen_prompt_len " + promptLen + " or gen_margins ["
                        + margins.length + "] do not fit input_ids [" + ids.length + "] and gen_tokens [" + gen.length + "]");
            return new Golden(ids, logits.toFloats(), logits.dim(1), states, hidden.dim(2), promptLen, gen, margins);
        }
    }

    private static Tensor required(SafetensorsFile f, String name) {
        Tensor t = f.tensors().get(name);
        if (t == null) throw new CheckpointException(f.file(), "has no tensor '" + name + "': not a golden file");
        return t;
    }

    public int tokens() { return inputIds.length; }
}
