package dev.tessera.coordinator.openai;

import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.Executor;

/**
 * One Generate call to the leader, with manual flow control: the handler asks for each next message once it has
 * written the previous one, so a slow HTTP client slows its stream (the service then coalesces tokens) instead of
 * piling messages up in the gateway.
 */
final class UpstreamCall {

    /** Callbacks of one call; never concurrent with each other (gRPC serializes them). */
    interface Handler {
        void onResponse(GenerateResponse response);

        /** The call ended: OK after the last response, or the status it failed with. */
        void onClose(Status status);
    }

    private final ClientCall<GenerateRequest, GenerateResponse> call;

    private UpstreamCall(ClientCall<GenerateRequest, GenerateResponse> call) {
        this.call = call;
    }

    /** A call not yet started: publish it where the handler can see it, then {@link #start}. */
    static UpstreamCall create(Channel channel, Executor executor) {
        return new UpstreamCall(channel.newCall(InferenceGrpc.getGenerateMethod(), CallOptions.DEFAULT.withExecutor(executor)));
    }

    /** Sends the request and asks for the first message; the handler's callbacks may run before this returns. */
    void start(GenerateRequest request, Handler handler) {
        call.start(new ClientCall.Listener<>() {
            @Override public void onMessage(GenerateResponse message) { handler.onResponse(message); }
            @Override public void onClose(Status status, Metadata trailers) { handler.onClose(status); }
        }, new Metadata());
        call.sendMessage(request);
        call.halfClose();
        call.request(1);
    }

    /** Ready for one more message. */
    void requestNext() { call.request(1); }

    /** Cancels the request; the service frees its KV blocks on every stage. */
    void cancel(String why) { call.cancel(why, null); }
}
