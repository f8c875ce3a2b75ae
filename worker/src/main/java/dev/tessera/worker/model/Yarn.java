package dev.tessera.worker.model;

/**
 * YaRN rotary frequencies as gpt-oss computes them (gpt-oss.md §2.3), in float32 like the references: the first
 * frequencies keep their original value, the last are divided by the scaling factor, a linear ramp between
 * {@code low} and {@code high} blends the rest, and cos and sin are both multiplied by the concentration.
 *
 * <p>NOTE: low and high stay unrounded (truncate=false); rounding them is a known bug elsewhere.
 *
 * @param invFreq        [headDim/2] the inverse frequency of each rotated pair
 * @param concentration  {@code 0.1·ln(factor) + 1}, multiplies cos and sin (so q·k by its square)
 */
public record Yarn(float[] invFreq, float concentration, double low, double high) {

    public static Yarn of(ModelConfig config) {
        ModelConfig.Rope r = config.rope();
        int d = config.headDim(), half = d / 2;
        double low = correctionDim(r.betaFast(), d, r.theta(), r.originalMaxPositions());
        double high = correctionDim(r.betaSlow(), d, r.theta(), r.originalMaxPositions());
        float lowF = (float) low, highF = (float) (high == low ? high + 0.001 : high);
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            // torch: base ** (arange(0, d, 2) / d) in float32
            float freq = (float) Math.pow((float) r.theta(), (float) (2 * i) / d);
            float extrapolation = 1f / freq;
            float interpolation = 1f / ((float) r.factor() * freq);
            float ramp = Math.clamp((i - lowF) / (highF - lowF), 0f, 1f);
            float mask = 1f - ramp; // weight of the original (extrapolated) frequency
            inv[i] = interpolation * (1f - mask) + extrapolation * mask;
        }
        float concentration = r.factor() <= 1 ? 1f : (float) (0.1 * Math.log(r.factor()) + 1.0);
        return new Yarn(inv, concentration, low, high);
    }

    /** The dimension index at which a wavelength completes {@code rotations} turns over the original context. */
    static double correctionDim(double rotations, int headDim, double base, int originalMaxPositions) {
        return headDim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }
}
