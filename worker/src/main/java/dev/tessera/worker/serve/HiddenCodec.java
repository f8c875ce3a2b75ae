package dev.tessera.worker.serve;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.tessera.proto.v1.HiddenDtype;
import dev.tessera.worker.engine.HiddenStates;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** StepInput.hidden_states on the wire (F32 or BF16, little-endian) to and from the engine's {@link HiddenStates}. */
final class HiddenCodec {

    private HiddenCodec() {}

    /**
     * Decodes the hidden states of a step of {@code tokens} tokens entering a stage whose residual stream is
     * {@code width} wide. Stage 0 takes none; every other stage takes exactly {@code [tokens, width]}.
     *
     * @return the states as float32, or null when the step has none (stage 0, or a step without tokens)
     */
    static HiddenStates decode(long step, ByteString bytes, HiddenDtype dtype, int tokens, int width, boolean first)
            throws StreamFault {
        if (first) {
            if (!bytes.isEmpty())
                throw StreamFault.invalid("step " + step + ": this is a first stage, which embeds the tokens itself; "
                        + "hidden_states must be empty, got " + bytes.size() + " bytes");
            return null;
        }
        if (tokens == 0) {
            if (!bytes.isEmpty())
                throw StreamFault.invalid("step " + step + " schedules no tokens but carries " + bytes.size() + " bytes of hidden_states");
            return null;
        }
        int elementBytes = switch (dtype) {
            case HIDDEN_DTYPE_F32 -> 4;
            case HIDDEN_DTYPE_BF16 -> 2;
            default -> throw StreamFault.invalid("step " + step + ": hidden_dtype " + dtype + " is not F32 or BF16; a stage "
                    + "past the first needs the previous stage's hidden states");
        };
        long expected = (long) tokens * width * elementBytes;
        if (bytes.size() != expected)
            throw StreamFault.invalid("step " + step + ": hidden_states has " + bytes.size() + " bytes, but " + tokens
                    + " tokens x hidden size " + width + " x " + elementBytes + " bytes (" + dtype + ") need " + expected);
        if (elementBytes == 4) return new HiddenStates(tokens, width, bytes.toByteArray());
        ByteBuffer in = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(tokens * width * 4).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) out.putInt((in.getShort() & 0xFFFF) << 16);
        return new HiddenStates(tokens, width, out.array());
    }

    /** The stage's output as F32 bytes for the next stage. */
    static ByteString encode(HiddenStates hidden) {
        // NOTE: wrapped, not copied: the engine allocates a fresh array per step and never touches it again.
        return UnsafeByteOperations.unsafeWrap(hidden.bytes());
    }
}
