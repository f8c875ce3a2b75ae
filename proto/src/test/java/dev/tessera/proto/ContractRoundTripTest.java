package dev.tessera.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.HiddenDtype;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.SequenceStep;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.TokenIds;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import io.grpc.MethodDescriptor.MethodType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Builds the contract's messages, sends them through the wire format and checks what comes back. */
class ContractRoundTripTest {

    @Test
    void generateRequestKeepsTheTokenPromptAndExplicitGreedy() throws InvalidProtocolBufferException {
        GenerateRequest request = GenerateRequest.newBuilder()
                .setRequestId("r-1")
                .setTokenIds(TokenIds.newBuilder().addAllIds(List.of(200006, 1428, 200008, 24912)))
                .setSampling(SamplingParams.newBuilder().setTemperature(0f).setMaxTokens(16))
                .setPriority(-1)
                .build();

        GenerateRequest parsed = GenerateRequest.parseFrom(request.toByteArray());

        assertEquals(request, parsed);
        assertEquals(GenerateRequest.PromptCase.TOKEN_IDS, parsed.getPromptCase());
        assertEquals(List.of(200006, 1428, 200008, 24912), parsed.getTokenIds().getIdsList());
        assertEquals("", parsed.getText(), "the other member of the oneof reads as its default");
        // temperature 0 was sent explicitly: it must stay distinguishable from "unset" (= 1.0)
        assertTrue(parsed.getSampling().hasTemperature());
        assertEquals(0f, parsed.getSampling().getTemperature());
        assertFalse(parsed.getSampling().hasTopP(), "top_p unset means 1.0 (off)");
        assertFalse(parsed.getSampling().hasSeed(), "no seed: the coordinator picks one");
        assertEquals(16, parsed.getSampling().getMaxTokens());
        assertEquals(-1, parsed.getPriority());
    }

    @Test
    void settingTextReplacesTokenIdsInTheOneof() throws InvalidProtocolBufferException {
        GenerateRequest request = GenerateRequest.newBuilder()
                .setTokenIds(TokenIds.newBuilder().addIds(1))
                .setText("<|start|>user<|message|>hello<|end|><|start|>assistant")
                .build();

        GenerateRequest parsed = GenerateRequest.parseFrom(request.toByteArray());

        assertEquals(GenerateRequest.PromptCase.TEXT, parsed.getPromptCase());
        assertFalse(parsed.hasTokenIds());
        assertEquals(0, parsed.getTokenIds().getIdsCount());
    }

    @Test
    void defaultsOfAnEmptyRequestAndResponse() throws InvalidProtocolBufferException {
        GenerateRequest request = GenerateRequest.parseFrom(new byte[0]);
        assertEquals(GenerateRequest.PromptCase.PROMPT_NOT_SET, request.getPromptCase());
        assertFalse(request.hasSampling());
        SamplingParams sampling = request.getSampling();
        assertFalse(sampling.hasTemperature());
        assertEquals(0, sampling.getTopK(), "top_k 0 = off");
        assertEquals(0, sampling.getMaxTokens(), "max_tokens 0 = up to the context");
        assertEquals(0, request.getStopTokenIdsCount(), "empty = the harmony stop set");
        assertEquals(0, request.getPriority());
        assertFalse(request.getOmitText(), "text is decoded by default");
        assertFalse(request.getIgnoreStopTokens());

        GenerateResponse response = GenerateResponse.parseFrom(new byte[0]);
        assertEquals(FinishReason.FINISH_REASON_UNSPECIFIED, response.getFinishReason());
        assertEquals(GenerateResponse.MatchedStopCase.MATCHEDSTOP_NOT_SET, response.getMatchedStopCase());
        assertFalse(response.hasUsage());

        GenerateResponse last = GenerateResponse.parseFrom(GenerateResponse.newBuilder()
                .addTokenIds(200002)
                .setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setStopTokenId(200002)
                .build().toByteArray());
        assertEquals(GenerateResponse.MatchedStopCase.STOP_TOKEN_ID, last.getMatchedStopCase());
        assertEquals(200002, last.getStopTokenId());
        assertEquals("", last.getStopString());
    }

    @Test
    void stepInputRoundTripsSequencesHiddenStatesAndRoute() throws InvalidProtocolBufferException {
        int hiddenSize = 4;
        float[] hidden = new float[3 * hiddenSize]; // 2 prefill tokens + 1 decode token
        for (int i = 0; i < hidden.length; i++) hidden[i] = i * 0.25f - 1.5f;
        ByteBuffer bytes = ByteBuffer.allocate(hidden.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : hidden) bytes.putFloat(v);

        SequenceStep fresh = SequenceStep.newBuilder()
                .setSeqId(41)
                .addAllTokens(List.of(200006, 17))
                .setStartPosition(0)
                .addAllBlockIds(List.of(9, 2))
                .setNewSequence(true)
                .setSampling(SamplingParams.newBuilder().setTemperature(1f).setSeed(1234L).setTopLogprobs(5))
                .setSample(true)
                .build();
        SequenceStep decode = SequenceStep.newBuilder()
                .setSeqId(40)
                .addTokens(659)
                .setStartPosition(300)
                .setSample(true)
                .setSampleIndex(7)
                .build();
        StepInput step = StepInput.newBuilder()
                .setStep(12)
                .setEpoch(3)
                .addSeqs(fresh)
                .addSeqs(decode)
                .setHiddenStates(ByteString.copyFrom(bytes.array()))
                .setHiddenDtype(HiddenDtype.HIDDEN_DTYPE_F32)
                .addAllFinishedSeqIds(List.of(5L, 6L))
                .setRoute(PipelineRoute.newBuilder()
                        .setModelFingerprint("fp")
                        .addStages(StageEndpoint.newBuilder().setWorkerId("w1").setAddress("10.0.0.2:7001")
                                .setFirstLayer(18).setLastLayer(36)))
                .build();

        StepInput parsed = StepInput.parseFrom(step.toByteArray());

        assertEquals(step, parsed);
        assertEquals(12, parsed.getStep());
        assertEquals(3, parsed.getEpoch());
        assertEquals(List.of(5L, 6L), parsed.getFinishedSeqIdsList());
        assertEquals(HiddenDtype.HIDDEN_DTYPE_F32, parsed.getHiddenDtype());
        int totalTokens = parsed.getSeqsList().stream().mapToInt(SequenceStep::getTokensCount).sum();
        assertEquals(totalTokens * hiddenSize * Float.BYTES, parsed.getHiddenStates().size());
        ByteBuffer back = parsed.getHiddenStates().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[totalTokens * hiddenSize];
        back.asFloatBuffer().get(decoded);
        assertArrayEquals(hidden, decoded);

        SequenceStep first = parsed.getSeqs(0);
        assertTrue(first.getNewSequence());
        assertTrue(first.hasSampling());
        assertEquals(1234L, first.getSampling().getSeed());
        assertEquals(List.of(9, 2), first.getBlockIdsList());
        SequenceStep second = parsed.getSeqs(1);
        assertFalse(second.getNewSequence(), "a known sequence sends only changes");
        assertFalse(second.hasSampling());
        assertEquals(0, second.getBlockIdsCount());
        assertEquals(7, second.getSampleIndex());
        assertTrue(parsed.hasRoute());
        assertEquals(36, parsed.getRoute().getStages(0).getLastLayer());

        StepInput stage0 = StepInput.parseFrom(StepInput.newBuilder().setStep(13).setEpoch(3).build().toByteArray());
        assertFalse(stage0.hasRoute(), "the route travels only on a stream's first step");
        assertTrue(stage0.getHiddenStates().isEmpty());
        assertEquals(HiddenDtype.HIDDEN_DTYPE_UNSPECIFIED, stage0.getHiddenDtype());
    }

    @Test
    void sequenceStepWireBytesAreStable() {
        // Guards field numbers and types: renumbering or retyping a field breaks running clusters.
        SequenceStep step = SequenceStep.newBuilder()
                .setSeqId(7)
                .addAllTokens(List.of(200006, 17))
                .setStartPosition(5)
                .addBlockIds(3)
                .setSample(true)
                .setSampleIndex(2)
                .build();
        assertEquals("08071204c69a0c11180522010338014002", HexFormat.of().formatHex(step.toByteArray()));
    }

    @Test
    void workerInfoDefaultsToUnspecifiedState() throws InvalidProtocolBufferException {
        WorkerInfo info = WorkerInfo.parseFrom(WorkerInfo.newBuilder().setWorkerId("w").build().toByteArray());
        assertEquals(WorkerState.WORKER_STATE_UNSPECIFIED, info.getState());
        assertEquals(0, info.getEpoch());
        assertFalse(info.hasStartedAt());
    }

    @Test
    void servicesHaveTheStreamingShapesTheDesignReliesOn() {
        assertEquals(MethodType.SERVER_STREAMING, InferenceGrpc.getGenerateMethod().getType());
        assertEquals("tessera.v1.Inference/Generate", InferenceGrpc.getGenerateMethod().getFullMethodName());
        assertEquals(MethodType.UNARY, InferenceGrpc.getListModelsMethod().getType());
        assertEquals(MethodType.BIDI_STREAMING, StageGrpc.getForwardMethod().getType());
        assertEquals("tessera.v1.Stage/Forward", StageGrpc.getForwardMethod().getFullMethodName());
        assertEquals(MethodType.UNARY, StageGrpc.getInfoMethod().getType());
    }
}
