package dev.tessera.client.loadtest;

/** A server under load: Tessera over gRPC, or any OpenAI-compatible HTTP endpoint. */
public interface Target extends AutoCloseable {

    /**
     * Sends one streamed request, without blocking: the target records each message's tokens on the timeline and
     * calls {@link RequestTimeline#finish} exactly once, on success or failure.
     */
    void send(LoadRequest request, RequestTimeline timeline);

    /** "grpc 127.0.0.1:50051" or "openai http://127.0.0.1:8000/v1 (completions)". */
    String describe();

    /** What the server says of the model: its name and whether its workers are simulated. */
    ServerModel model() throws Exception;

    /**
     * @param name         the model's name
     * @param simulated    whether the workers do no math (their latency comes from a model)
     * @param latencyModel the simulated latency model, or ""
     */
    record ServerModel(String name, boolean simulated, String latencyModel) {}

    @Override
    void close();
}
