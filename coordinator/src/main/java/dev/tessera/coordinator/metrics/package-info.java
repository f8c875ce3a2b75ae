/**
 * Serving metrics in the Prometheus text exposition format (version 0.0.4), written here without a metrics
 * library. {@link dev.tessera.coordinator.metrics.ServingMetrics} holds the counters and histograms that every
 * request passes through once (recorded off the engine loops, by the response streams and the Inference service)
 * and reads the gauges from the live replica set when scraped. The families mirror vLLM's under a {@code tessera:}
 * prefix, so dashboards and load tools built for vLLM read them.
 *
 * <p>Everything here is thread-safe and lock-free on the recording side: striped adders and per-bucket counts.
 */
package dev.tessera.coordinator.metrics;
