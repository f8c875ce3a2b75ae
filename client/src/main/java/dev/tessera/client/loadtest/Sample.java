package dev.tessera.client.loadtest;

/**
 * One request of a load level, kept for the report's charts.
 *
 * @param startSeconds when it was sent, seconds since the level began
 * @param ttftMs       time to first token, ms (NaN if no token came)
 * @param tpotMs       mean time per output token after the first, ms (NaN with fewer than two tokens)
 * @param e2eMs        end-to-end latency, ms
 * @param outputTokens tokens received
 * @param ok           whether it succeeded
 */
public record Sample(double startSeconds, double ttftMs, double tpotMs, double e2eMs, int outputTokens, boolean ok) {}
