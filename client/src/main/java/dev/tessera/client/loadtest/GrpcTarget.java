package dev.tessera.client.loadtest;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerationListener;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.TokenIds;
import io.grpc.StatusRuntimeException;
import java.util.List;

/**
 * A Tessera cluster over gRPC, through {@link TesseraClient} (an address, or the leader found in ZooKeeper). Each
 * request asks for exactly its output length ({@code ignore_stop_tokens}), as benchmarks do.
 */
public final class GrpcTarget implements Target {

    private final TesseraClient client;
    private final String model;
    private final boolean omitText;

    /** @param omitText ask for token ids only (no detokenizing on the server) */
    public GrpcTarget(TesseraClient client, String model, boolean omitText) {
        this.client = client;
        this.model = model;
        this.omitText = omitText;
    }

    @Override
    public void send(LoadRequest r, RequestTimeline timeline) {
        GenerateRequest.Builder b = GenerateRequest.newBuilder().setModel(model).setIgnoreStopTokens(true).setOmitText(omitText)
                .setRequestId("loadtest-" + r.index())
                .setSampling(SamplingParams.newBuilder().setMaxTokens(r.outputTokens()));
        if (r.promptIds() != null) {
            TokenIds.Builder ids = TokenIds.newBuilder();
            for (int id : r.promptIds()) ids.addIds(id);
            b.setTokenIds(ids);
        } else {
            b.setText(r.promptText());
        }
        dev.tessera.client.Generation call = client.generate(b.build(), new GenerationListener() {
            @Override
            public void onChunk(GenerateResponse chunk) {
                timeline.onTokens(chunk.getTokenIdsCount(), System.nanoTime());
            }

            @Override
            public void onComplete(Completion c) {
                FinishReason f = c.finishReason();
                String error = f == FinishReason.FINISH_REASON_ERROR || f == FinishReason.FINISH_REASON_CANCELLED
                        ? "finish " + f.name().substring("FINISH_REASON_".length()) : null;
                timeline.finish(System.nanoTime(), error, -1, c.promptTokens());
            }

            @Override
            public void onError(StatusRuntimeException e) {
                timeline.finish(System.nanoTime(), e.getStatus().getCode().name(), -1, 0);
            }
        });
        timeline.cancelWith(call::cancel);
    }

    @Override
    public String describe() { return "grpc " + client.target(); }

    @Override
    public ServerModel model() {
        List<ModelInfo> models;
        try {
            models = client.listModels();
        } catch (StatusRuntimeException e) {
            throw new IllegalStateException("cannot list the models of " + client.target() + ": " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"));
        }
        ModelInfo m = models.stream().filter(i -> model.isEmpty() ? i.getIsDefault() : i.getName().equals(model)).findFirst()
                .orElseThrow(() -> new IllegalStateException(models.isEmpty() ? "the cluster serves no model yet"
                        : "the cluster does not serve '" + model + "'; it serves " + models.stream().map(ModelInfo::getName).toList()));
        return new ServerModel(m.getName(), m.getSimulated(), m.getLatencyModel());
    }

    @Override
    public void close() { client.close(); }
}
