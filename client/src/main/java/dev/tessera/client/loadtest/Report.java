package dev.tessera.client.loadtest;

import java.util.List;

/**
 * A whole run: its description and one result per load level, in the order run.
 *
 * @param run    what was measured and how
 * @param levels one result per load level
 * @param knee   index into {@code levels} of the knee (the last level before throughput stops following the offered
 *               rate or latency jumps), or -1 when there is none or a single level
 */
public record Report(RunInfo run, List<LevelResult> levels, int knee) {}
