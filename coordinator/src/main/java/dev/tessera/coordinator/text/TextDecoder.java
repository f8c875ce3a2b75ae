package dev.tessera.coordinator.text;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Incremental detokenization of one generated stream: each {@link #push(int)} returns the text its token completes,
 * never part of a UTF-8 character.
 *
 * <p>A token's bytes may end in the middle of a multi-byte character (an emoji is often two tokens). Such an
 * incomplete tail is held back until later tokens complete it; {@link #flush()} at the end of the stream releases
 * what is left, an incomplete tail becoming U+FFFD. Bytes that can no longer form a valid character are released at
 * once as U+FFFD, just as a one-shot decode would render them. With {@link Specials#INCLUDE} the concatenation of
 * every push and the flush equals {@link Tokenizer#decode(int[])} of the same ids.
 *
 * <p>Special tokens are either included as their names ({@code "<|end|>"}) or skipped entirely. A skipped special
 * leaves a held tail in place: its text is simply absent, as if the id had been filtered out before decoding.
 *
 * <p>Not thread-safe: one instance per stream, driven by one thread at a time.
 */
public final class TextDecoder {

    /** What happens to the text of special tokens. */
    public enum Specials { INCLUDE, SKIP }

    private final Tokenizer tokenizer;
    private final Specials specials;
    /** Bytes of an incomplete trailing character, at most 3. */
    private byte[] pending = new byte[0];

    public TextDecoder(Tokenizer tokenizer, Specials specials) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.specials = Objects.requireNonNull(specials, "specials");
    }

    /**
     * The text newly completed by {@code tokenId}; "" when the token only adds to an incomplete character (or is a
     * skipped special).
     *
     * @throws IllegalArgumentException if the id is outside the vocabulary
     */
    public String push(int tokenId) {
        boolean special = tokenizer.isSpecial(tokenId);
        if (special && specials == Specials.SKIP) return "";
        byte[] token = tokenizer.tokenBytes(tokenId);
        byte[] bytes = pending.length == 0 ? token : concat(pending, token);
        int complete = completePrefix(bytes);
        pending = Arrays.copyOfRange(bytes, complete, bytes.length);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Releases a held incomplete character as U+FFFD (or "" when nothing is held) and resets the decoder. */
    public String flush() {
        String rest = new String(pending, StandardCharsets.UTF_8);
        pending = new byte[0];
        return rest;
    }

    /** Number of bytes held back as the start of an incomplete character. */
    public int pendingBytes() {
        return pending.length;
    }

    /**
     * The length of the longest prefix of {@code bytes} that does not end inside a character that later bytes could
     * still complete: the trailing bytes from the last lead byte are held only if they are a valid but unfinished
     * start of a 2-, 3- or 4-byte sequence.
     */
    static int completePrefix(byte[] bytes) {
        int n = bytes.length;
        for (int k = 1; k <= Math.min(3, n); k++) {
            int b = bytes[n - k] & 0xFF;
            if ((b & 0xC0) == 0x80) continue; // continuation byte: look further back for the lead
            int need = sequenceLength(b);
            if (k < need && validSoFar(bytes, n - k, k)) return n - k;
            return n;
        }
        return n;
    }

    /** Length of the sequence a lead byte starts; 1 for ASCII and for bytes that cannot lead a sequence. */
    private static int sequenceLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 1;
    }

    /**
     * Whether the {@code count} bytes from {@code start} (a lead byte and continuation bytes) can still begin a
     * well-formed sequence: the second byte's range is narrower after E0, ED, F0 and F4 (no overlongs, no
     * surrogates, nothing above U+10FFFF).
     */
    private static boolean validSoFar(byte[] bytes, int start, int count) {
        if (count < 2) return true;
        int lead = bytes[start] & 0xFF;
        int second = bytes[start + 1] & 0xFF;
        return switch (lead) {
            case 0xE0 -> second >= 0xA0;
            case 0xED -> second <= 0x9F;
            case 0xF0 -> second >= 0x90;
            case 0xF4 -> second <= 0x8F;
            default -> true;
        };
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
