package dev.tessera.worker.checkpoint;

import java.util.Arrays;

/**
 * A tensor a gpt-oss checkpoint must hold: its Hugging Face name, dtype and shape (gpt-oss.md §3.2), and its role,
 * which says how it is used (and how a synthetic checkpoint initialises it).
 *
 * <p>NOTE: {@code shape} is an array, so equality is by identity, as for {@link Tensor}; compare shapes with
 * {@link Arrays#equals(long[], long[])}.
 */
public record TensorSpec(String name, DType dtype, long[] shape, Role role) {

    /** What a tensor is for. */
    public enum Role {
        /** Token embedding rows [vocab, hidden]. */
        EMBEDDING,
        /** A dense BF16 weight [out_features, in_features]. */
        MATRIX,
        /** An RMSNorm gain [hidden]. */
        NORM,
        /** A BF16 bias (attention, router or expert). */
        BIAS,
        /** Attention sinks, one per query head. */
        SINKS,
        /** MXFP4 codes U8 [experts, rows, in/32, 16]. */
        MXFP4_BLOCKS,
        /** MXFP4 E8M0 scales U8 [experts, rows, in/32]. */
        MXFP4_SCALES
    }

    public TensorSpec {
        shape = shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() { return Math.multiplyExact(numel(), (long) dtype.bytes()); }

    /** The input (reduction) width of a weight: a matrix's columns, or 32 × the groups of an MXFP4 weight. */
    public long inFeatures() {
        return switch (role) {
            case MATRIX, EMBEDDING -> shape[1];
            case MXFP4_BLOCKS, MXFP4_SCALES -> shape[2] * Mxfp4.GROUP;
            default -> throw new IllegalStateException(name + " is a " + role + ", not a weight");
        };
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
