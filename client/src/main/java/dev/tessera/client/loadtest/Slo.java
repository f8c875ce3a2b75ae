package dev.tessera.client.loadtest;

/**
 * Service-level objectives for goodput: a request counts as good when it succeeded and meets every limit that is
 * set. A limit of 0 is not set.
 *
 * @param ttftMs most time to first token, ms
 * @param tpotMs most mean time per output token after the first, ms
 * @param e2eMs  most end-to-end latency, ms
 */
public record Slo(double ttftMs, double tpotMs, double e2eMs) {

    public static final Slo NONE = new Slo(0, 0, 0);

    public Slo {
        if (ttftMs < 0 || tpotMs < 0 || e2eMs < 0) throw new IllegalArgumentException("SLO limits must be >= 0");
    }

    public boolean isSet() { return ttftMs > 0 || tpotMs > 0 || e2eMs > 0; }

    /** Whether a successful request with these timings meets every limit set. */
    public boolean met(double ttft, double tpot, double e2e) {
        return (ttftMs == 0 || ttft <= ttftMs) && (tpotMs == 0 || tpot <= tpotMs) && (e2eMs == 0 || e2e <= e2eMs);
    }

    /** "TTFT <= 500 ms, TPOT <= 50 ms", or "none". */
    public String describe() {
        StringBuilder b = new StringBuilder();
        if (ttftMs > 0) b.append("TTFT <= ").append(fmt(ttftMs)).append(" ms");
        if (tpotMs > 0) b.append(b.isEmpty() ? "" : ", ").append("TPOT <= ").append(fmt(tpotMs)).append(" ms");
        if (e2eMs > 0) b.append(b.isEmpty() ? "" : ", ").append("E2E <= ").append(fmt(e2eMs)).append(" ms");
        return b.isEmpty() ? "none" : b.toString();
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }
}
