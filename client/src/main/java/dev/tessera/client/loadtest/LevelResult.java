package dev.tessera.client.loadtest;

import java.util.List;
import java.util.Map;

/**
 * What one load level measured.
 *
 * @param level                 the offered load
 * @param durationSeconds       from the first request sent to the last one finished (warm-up excluded)
 * @param completed             requests that finished without error
 * @param failed                requests that failed
 * @param errors                failures by kind ("UNAVAILABLE", "http 429", "timeout", ...)
 * @param requestsPerSecond     completed requests per second
 * @param inputTokensPerSecond  prompt tokens of completed requests per second
 * @param outputTokensPerSecond output tokens per second (all requests)
 * @param ttft                  time to first token
 * @param tpot                  time per output token after the first, per request
 * @param itl                   every gap between consecutive tokens (a message carrying k tokens counts k - 1 gaps of 0)
 * @param e2e                   end-to-end latency
 * @param goodputPerSecond      completed requests meeting the SLOs, per second (equals requestsPerSecond without SLOs)
 * @param goodFraction          the fraction of all requests that met the SLOs
 * @param samples               per-request points for charts (at most a fixed number, evenly thinned)
 */
public record LevelResult(LoadLevel level, double durationSeconds, long completed, long failed, Map<String, Long> errors,
                          double requestsPerSecond, double inputTokensPerSecond, double outputTokensPerSecond,
                          Percentiles ttft, Percentiles tpot, Percentiles itl, Percentiles e2e,
                          double goodputPerSecond, double goodFraction, List<Sample> samples) {}
