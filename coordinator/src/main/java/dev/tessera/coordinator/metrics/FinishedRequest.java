package dev.tessera.coordinator.metrics;

import dev.tessera.coordinator.scheduler.Finish;
import java.util.Objects;

/**
 * What a request measured when it ended, recorded once per request.
 *
 * @param model            the model it ran on
 * @param finish           why it ended
 * @param promptTokens     prompt length
 * @param generationTokens completion tokens delivered to the client
 * @param e2eNanos         from arrival to its end
 * @param queueNanos       from arrival to its first scheduled step; -1 when it never got one (then not observed)
 * @param preemptions      recomputations it cost: preemptions on a replica and moves off lost ones
 */
public record FinishedRequest(String model, Finish finish, int promptTokens, int generationTokens, long e2eNanos,
                              long queueNanos, int preemptions) {

    public FinishedRequest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(finish, "finish");
        if (promptTokens < 0 || generationTokens < 0 || preemptions < 0)
            throw new IllegalArgumentException("negative token or preemption count: " + promptTokens + ", "
                    + generationTokens + ", " + preemptions);
        if (e2eNanos < 0) throw new IllegalArgumentException("negative latency " + e2eNanos + " ns");
        if (queueNanos < -1) throw new IllegalArgumentException("queue time is -1 (never scheduled) or >= 0, got " + queueNanos);
    }

    /** The {@code finished_reason} label vLLM uses: a cancelled request is {@code abort}. */
    public String finishedReason() { return reasonLabel(finish); }

    static String reasonLabel(Finish f) {
        return switch (f) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case CANCELLED -> "abort";
            case ERROR -> "error";
        };
    }
}
