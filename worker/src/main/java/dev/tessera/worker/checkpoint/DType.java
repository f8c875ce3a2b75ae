package dev.tessera.worker.checkpoint;

/** The element types a safetensors header may name, with their sizes in bytes (gpt-oss.md §3.6). */
public enum DType {
    BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4), F64(8), I64(8), U64(8),
    F8_E4M3(1), F8_E5M2(1);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }

    /** The dtype named in a header, or null when the name is unknown. */
    public static DType parse(String name) {
        for (DType d : values()) if (d.name().equals(name)) return d;
        return null;
    }
}
