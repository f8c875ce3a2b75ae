package dev.tessera.client.loadtest;

import java.util.Random;

/**
 * A length in tokens drawn per request: fixed, uniform over a closed range, or normal (rounded, at least 1).
 * Written on the command line as {@code 128}, {@code fixed:128}, {@code uniform:100:300} or {@code normal:200:50}.
 */
public sealed interface LengthDistribution {

    int draw(Random random);

    /** The mean, for describing the workload. */
    double mean();

    record Fixed(int length) implements LengthDistribution {
        public Fixed {
            if (length < 1) throw new IllegalArgumentException("a length must be >= 1, got " + length);
        }

        @Override public int draw(Random random) { return length; }
        @Override public double mean() { return length; }
        @Override public String toString() { return Integer.toString(length); }
    }

    record Uniform(int min, int max) implements LengthDistribution {
        public Uniform {
            if (min < 1 || max < min) throw new IllegalArgumentException("uniform lengths need 1 <= min <= max, got " + min + ".." + max);
        }

        @Override public int draw(Random random) { return min + random.nextInt(max - min + 1); }
        @Override public double mean() { return (min + max) / 2.0; }
        @Override public String toString() { return "uniform " + min + ".." + max; }
    }

    record Normal(double meanLength, double sd) implements LengthDistribution {
        public Normal {
            if (meanLength < 1 || sd < 0) throw new IllegalArgumentException("normal lengths need mean >= 1 and sd >= 0");
        }

        @Override public int draw(Random random) { return (int) Math.max(1, Math.round(meanLength + sd * random.nextGaussian())); }
        @Override public double mean() { return meanLength; }
        @Override public String toString() { return "normal mean " + meanLength + " sd " + sd; }
    }

    static LengthDistribution parse(String spec) {
        String[] p = spec.trim().split(":");
        try {
            return switch (p[0]) {
                case "fixed" -> { check(p, 2, spec); yield new Fixed(Integer.parseInt(p[1])); }
                case "uniform" -> { check(p, 3, spec); yield new Uniform(Integer.parseInt(p[1]), Integer.parseInt(p[2])); }
                case "normal" -> { check(p, 3, spec); yield new Normal(Double.parseDouble(p[1]), Double.parseDouble(p[2])); }
                default -> { check(p, 1, spec); yield new Fixed(Integer.parseInt(p[0])); }
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a length distribution: '" + spec + "' (use 128, fixed:128, uniform:100:300 or normal:200:50)");
        }
    }

    private static void check(String[] parts, int n, String spec) {
        if (parts.length != n)
            throw new IllegalArgumentException("not a length distribution: '" + spec + "' (use 128, fixed:128, uniform:100:300 or normal:200:50)");
    }
}
