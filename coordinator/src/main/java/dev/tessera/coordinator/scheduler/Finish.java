package dev.tessera.coordinator.scheduler;

/** Why a sequence ended. */
public enum Finish {
    /** A stop token was sampled (or the engine loop matched a stop string). */
    STOP,
    /** It reached its max_tokens or the context length. */
    LENGTH,
    /** The client cancelled, its deadline passed, or it disconnected. */
    CANCELLED,
    /** The cluster could not complete it. */
    ERROR
}
