package dev.tessera.worker.checkpoint;

/** bfloat16 conversions: a bf16 is the upper 16 bits of an IEEE float32 (gpt-oss.md §3.6). */
public final class Bf16 {

    private Bf16() {}

    /** The bf16 nearest to {@code f}, ties to even; NaN stays a (quiet) NaN and infinities stay infinite. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (short) ((bits >>> 16) | 0x0040); // NaN: keep sign, set quiet bit
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    public static float toFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    /** {@code f} rounded to the nearest bf16 and back. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
