package dev.tessera.worker.sim;

import java.util.Objects;

/**
 * A worker that simulates instead of computing (see {@link SimulatedShard}).
 *
 * @param latency how long the whole model's steps take
 * @param preset  the model shape served when no checkpoint directory is given (a {@link SimModel#preset} name);
 *                null takes {@value #DEFAULT_PRESET}
 */
public record Simulation(LatencyModel latency, String preset) {

    public static final String DEFAULT_PRESET = "gpt-oss-120b";

    public Simulation {
        Objects.requireNonNull(latency, "latency");
        if (preset == null || preset.isBlank()) preset = DEFAULT_PRESET;
        SimModel.preset(preset); // fails now, in one sentence, for an unknown preset
    }

    /** The default shape, paced by {@code latency}. */
    public static Simulation of(LatencyModel latency) { return new Simulation(latency, DEFAULT_PRESET); }

    /** For humans and WorkerInfo.device: "simulated (no model math)". */
    public static final String DEVICE = "simulated (no model math)";
}
