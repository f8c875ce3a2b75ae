package dev.tessera.client;

import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.ListModelsRequest;
import dev.tessera.proto.v1.ListModelsResponse;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.v1.TokenLogprobs;
import dev.tessera.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fake coordinator at the client's boundary. It streams {@code max_tokens} tokens (4 when unset), one per message:
 * token i is {@code 1000 + i}, its text {@code "<1000+i>"}; it ends with LENGTH, or STOP on a stop token id (not
 * rendered into text, as the contract says). Request ids are {@code name-n}. Knobs, set before a call:
 * {@link #holdAfter} (send that many messages, then hold the call until {@link #release()} or a cancel),
 * {@link #errorText} (end with FINISH_REASON_ERROR), {@link #skipFinal} (close OK without a final message).
 */
final class FakeInferenceService extends InferenceGrpc.InferenceImplBase {

    final String name;
    volatile int holdAfter = -1;
    volatile String errorText;
    volatile boolean skipFinal;
    /** Counted down when a call is cancelled by its client, as the server sees it. */
    final CountDownLatch cancelled = new CountDownLatch(1);
    /** Counted down when a call reaches {@link #holdAfter}. */
    final CountDownLatch holding = new CountDownLatch(1);
    final AtomicInteger calls = new AtomicInteger();
    private final AtomicReference<Runnable> held = new AtomicReference<>();

    FakeInferenceService(String name) {
        this.name = name;
    }

    /** Sends the rest of the held call. */
    void release() {
        Runnable r = held.getAndSet(null);
        if (r == null) throw new IllegalStateException("no call is held");
        r.run();
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) responses;
        call.setOnCancelHandler(cancelled::countDown);
        List<Integer> prompt = switch (request.getPromptCase()) {
            case TOKEN_IDS -> request.getTokenIds().getIdsList();
            case TEXT -> request.getText().codePoints().boxed().toList();
            case PROMPT_NOT_SET -> List.of();
        };
        if (prompt.isEmpty()) {
            call.onError(Status.INVALID_ARGUMENT.withDescription("the prompt is empty: set text or token_ids").asRuntimeException());
            return;
        }
        String requestId = name + "-" + calls.incrementAndGet();
        int maxTokens = request.getSampling().getMaxTokens() == 0 ? 4 : request.getSampling().getMaxTokens();
        send(call, request, requestId, prompt, maxTokens, 0);
    }

    private void send(ServerCallStreamObserver<GenerateResponse> call, GenerateRequest request, String requestId,
                      List<Integer> prompt, int maxTokens, int from) {
        for (int i = from; i < maxTokens; i++) {
            if (i == holdAfter) {
                int next = i;
                held.set(() -> send(call, request, requestId, prompt, maxTokens, next));
                holdAfter = -1;
                holding.countDown();
                return;
            }
            if (call.isCancelled()) return;
            int token = 1000 + i;
            boolean stop = request.getStopTokenIdsList().contains(token);
            boolean last = stop || i == maxTokens - 1;
            GenerateResponse.Builder r = GenerateResponse.newBuilder().addTokenIds(token).setText(stop ? "" : "<" + token + ">");
            if (request.getSampling().getLogprobs()) r.addLogprobs(TokenLogprobs.newBuilder().setLogprob(-0.25f * (i + 1)));
            if (i == 0) {
                r.setRequestId(requestId).setPromptTokens(prompt.size()).setSeed(7);
                if (request.getEchoPrompt()) r.addAllPromptTokenIds(prompt);
            }
            if (last && errorText != null) {
                call.onNext(r.build());
                r = GenerateResponse.newBuilder().setFinishReason(FinishReason.FINISH_REASON_ERROR).setError(errorText);
            } else if (last && stop) {
                r.setFinishReason(FinishReason.FINISH_REASON_STOP).setStopTokenId(token);
            } else if (last) {
                r.setFinishReason(FinishReason.FINISH_REASON_LENGTH);
            }
            if (last && skipFinal) {
                call.onNext(r.clearFinishReason().clearStopTokenId().build());
                break;
            }
            if (last) r.setUsage(Usage.newBuilder().setPromptTokens(prompt.size()).setCompletionTokens(i + 1)
                    .setTimeToFirstTokenUs(1500).setTotalTimeUs(9000));
            call.onNext(r.build());
            if (last) break;
        }
        call.onCompleted();
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
        responses.onNext(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder().setName("gpt-oss-" + name)
                .setMaxContextTokens(4096).setVocabSize(201088).setReadyReplicas(1).setIsDefault(true)).build());
        responses.onCompleted();
    }
}
