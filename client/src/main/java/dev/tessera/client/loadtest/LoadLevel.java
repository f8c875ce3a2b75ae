package dev.tessera.client.loadtest;

/**
 * One load level of a run: an open loop at an offered request rate, or a closed loop at a concurrency.
 *
 * @param offeredRate requests per second offered (open loop), or 0 for a closed loop
 * @param concurrency requests kept in flight (closed loop), or 0 for an open loop
 */
public record LoadLevel(double offeredRate, int concurrency) {

    public LoadLevel {
        if ((offeredRate > 0) == (concurrency > 0))
            throw new IllegalArgumentException("a load level is either a rate (> 0) or a concurrency (> 0), got rate "
                    + offeredRate + " and concurrency " + concurrency);
    }

    public static LoadLevel rate(double requestsPerSecond) { return new LoadLevel(requestsPerSecond, 0); }

    public static LoadLevel concurrency(int inFlight) { return new LoadLevel(0, inFlight); }

    public boolean openLoop() { return offeredRate > 0; }

    /** "rate 4.0/s" or "concurrency 8". */
    public String label() {
        if (!openLoop()) return "concurrency " + concurrency;
        return "rate " + java.math.BigDecimal.valueOf(offeredRate).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString() + "/s";
    }
}
