package dev.tessera.client.loadtest;

import java.util.Random;

/**
 * When an open loop sends its next request: gaps between arrivals drawn from a gamma distribution with the mean
 * {@code 1 / rate}. Burstiness is its shape, as in vLLM's {@code bench serve}: 1 is a Poisson process (exponential
 * gaps), below 1 is burstier, above 1 more regular.
 *
 * @param rate       requests per second
 * @param burstiness the gamma shape (> 0); 1 for Poisson
 */
public record ArrivalProcess(double rate, double burstiness) {

    public ArrivalProcess {
        if (!(rate > 0) || Double.isInfinite(rate)) throw new IllegalArgumentException("a request rate must be > 0, got " + rate);
        if (!(burstiness > 0)) throw new IllegalArgumentException("burstiness must be > 0, got " + burstiness);
    }

    public static ArrivalProcess poisson(double rate) { return new ArrivalProcess(rate, 1); }

    /** The next gap in seconds. */
    public double nextGapSeconds(Random random) {
        double theta = 1 / (rate * burstiness); // gamma scale, so that the mean gap is shape * scale = 1 / rate
        return burstiness == 1 ? -Math.log(1 - random.nextDouble()) * theta : gamma(burstiness, random) * theta;
    }

    /** A unit-scale gamma variate (Marsaglia and Tsang; shapes below 1 boosted by U^(1/shape)). */
    static double gamma(double shape, Random random) {
        if (shape < 1) return gamma(shape + 1, random) * Math.pow(random.nextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x, v;
            do {
                x = random.nextGaussian();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = random.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
        }
    }

    public String describe() {
        return burstiness == 1 ? "poisson" : String.format(java.util.Locale.ROOT, "gamma (burstiness %.3g)", burstiness);
    }
}
