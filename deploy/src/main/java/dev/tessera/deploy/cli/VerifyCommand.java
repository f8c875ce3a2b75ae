package dev.tessera.deploy.cli;

import dev.tessera.worker.verify.Verifier;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check the engine against transformers' outputs for a checkpoint.",
                "Runs the golden input ids as one prefill and again token by token through the KV cache, with the layers "
                        + "split over N stages; compares logits and hidden states; checks greedy generation at every step "
                        + "whose golden margin exceeds the measured logit error. Exits 0 only on PASS."})
public final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint directory in the Hugging Face layout.")
    Path model;

    @Option(names = "--golden", description = "Golden file (default: MODEL/golden.safetensors).")
    Path golden;

    @Option(names = "--stages", defaultValue = "1", description = "Pipeline stages to split the layers over. Default: ${DEFAULT-VALUE}.")
    int stages;

    @Option(names = "--kv-block-size", defaultValue = "16", description = "Tokens per KV cache block. Default: ${DEFAULT-VALUE}.")
    int kvBlockSize;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        Path goldenFile = golden != null ? golden : model.resolve("golden.safetensors");
        Verifier.Result r = Verifier.run(new Verifier.Options(model, goldenFile, stages, kvBlockSize), backend.factory(),
                System.out::println);
        System.out.println(r.summary());
        return r.pass() ? 0 : 1;
    }
}
