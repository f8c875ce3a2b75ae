package dev.tessera.deploy;

import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fake coordinator at the boundary of the {@code generate} command: answers every request with the words
 * "Hello", ",", " world" (ids 13225, 11, 2375), one per message, then the stop token {@code <|return|>} 200002,
 * cut short by max_tokens. Model "missing" is refused with NOT_FOUND. Keeps the last request it got.
 */
final class FakeInferenceService extends InferenceGrpc.InferenceImplBase {

    static final List<Integer> IDS = List.of(13225, 11, 2375);
    static final List<String> WORDS = List.of("Hello", ",", " world");
    static final int RETURN = 200002;

    final AtomicReference<GenerateRequest> lastRequest = new AtomicReference<>();

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        lastRequest.set(request);
        if (request.getModel().equals("missing")) {
            responses.onError(Status.NOT_FOUND.withDescription("unknown model \"missing\"; ListModels shows the models served").asRuntimeException());
            return;
        }
        int prompt = request.hasTokenIds() ? request.getTokenIds().getIdsCount() : request.getText().length();
        int max = request.getSampling().getMaxTokens() == 0 ? Integer.MAX_VALUE : request.getSampling().getMaxTokens();
        int n = Math.min(max, IDS.size() + 1);
        for (int i = 0; i < n; i++) {
            boolean stop = i == IDS.size(), last = i == n - 1;
            GenerateResponse.Builder r = GenerateResponse.newBuilder();
            if (i == 0) r.setRequestId("fake-1").setPromptTokens(prompt);
            if (stop) r.addTokenIds(RETURN).setStopTokenId(RETURN);
            else r.addTokenIds(IDS.get(i)).setText(WORDS.get(i));
            if (last) r.setFinishReason(stop ? FinishReason.FINISH_REASON_STOP : FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(n).setTimeToFirstTokenUs(800).setTotalTimeUs(4000));
            responses.onNext(r.build());
        }
        responses.onCompleted();
    }
}
