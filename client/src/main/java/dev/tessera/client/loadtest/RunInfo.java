package dev.tessera.client.loadtest;

/**
 * What a run measured against, and how, printed at the top of every report.
 *
 * @param target       "grpc 127.0.0.1:50051", "openai http://host:8000/v1", ...
 * @param model        the model name asked for ("" for the server's default)
 * @param workload     the prompts and output lengths, for humans ("prompt uniform 100..300 tokens, output 256 tokens")
 * @param arrivals     the arrival process ("poisson", "gamma burstiness 0.5", "closed loop")
 * @param seed         the seed of the workload and the arrivals
 * @param startedAt    ISO-8601 start time
 * @param simulated    whether the server's workers are simulated (no model math)
 * @param latencyModel the simulated workers' latency model, or "" when not simulated
 * @param slo          the goodput SLOs
 * @param warmupSeconds warm-up excluded from each level's figures
 * @param command      the command line that reproduces the run
 */
public record RunInfo(String target, String model, String workload, String arrivals, long seed, String startedAt,
                      boolean simulated, String latencyModel, Slo slo, double warmupSeconds, String command) {}
