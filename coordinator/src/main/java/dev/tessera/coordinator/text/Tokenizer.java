package dev.tessera.coordinator.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The o200k_harmony tokenizer of gpt-oss: o200k_base's byte-level BPE for ordinary text plus the harmony special
 * tokens of {@link HarmonyTokens}.
 *
 * <p>Thread-safe and immutable once built. Loading the vocabulary takes a few hundred milliseconds, so one instance
 * is shared: {@link #shared()} loads it on first use.
 *
 * <p>NOTE: ordinary text goes through jtokkit's o200k_base encoding (its pre-tokenisation regex is o200k's, compiled
 * Unicode-aware), but special ids never reach jtokkit: this class names and splices them itself. That keeps user text
 * that happens to spell a special token as text, and it avoids jtokkit's decoder, which caches special tokens in a
 * plain HashMap on first decode (a write that is not safe under concurrent use).
 */
public final class Tokenizer {

    private static final Logger log = LoggerFactory.getLogger(Tokenizer.class);

    private final Encoding base;

    private Tokenizer(Encoding base) {
        this.base = base;
    }

    /** The shared tokenizer, loaded on the first call (a few hundred ms); later calls return at once. */
    public static Tokenizer shared() {
        return Holder.INSTANCE;
    }

    private static final class Holder {
        static final Tokenizer INSTANCE = load();
    }

    private static Tokenizer load() {
        long start = System.nanoTime();
        Encoding base = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
        log.info("Loaded the o200k_harmony tokenizer in {} ms", (System.nanoTime() - start) / 1_000_000);
        return new Tokenizer(base);
    }

    /** Number of ids, {@value HarmonyTokens#VOCAB_SIZE}. */
    public int vocabSize() {
        return HarmonyTokens.VOCAB_SIZE;
    }

    /**
     * Whether {@code id} is a special (harmony or reserved) id.
     *
     * @throws IllegalArgumentException if {@code id} is outside the vocabulary
     */
    public boolean isSpecial(int id) {
        checkId(id);
        return HarmonyTokens.isSpecial(id);
    }

    /**
     * Encodes ordinary text: a special-token string in {@code text} (say a user's {@code "<|start|>"}) stays text and
     * is encoded as its characters. Use this for everything a client sent.
     */
    public int[] encode(String text) {
        return base.encodeOrdinary(text).toArray();
    }

    /**
     * Encodes text in which the exact names of special tokens ({@code <|start|>}, {@code <|reserved_200000|>}, ...)
     * become their ids and everything between them is encoded as ordinary text. Use this only for text the server
     * wrote itself (the fixed parts of a harmony template); encode a client's text with {@link #encode(String)} and
     * concatenate the ids, so that a special name inside it stays text.
     */
    public int[] encodeWithSpecials(String text) {
        IntArrayList out = new IntArrayList(Math.max(8, text.length() / 3));
        int textStart = 0;
        int from = 0;
        while (true) {
            int open = text.indexOf("<|", from);
            if (open < 0) break;
            int end = nameEnd(text, open);
            OptionalInt id = end < 0 ? OptionalInt.empty() : HarmonyTokens.idOf(text.substring(open, end));
            if (id.isEmpty()) {
                from = open + 1;
                continue;
            }
            appendOrdinary(out, text.substring(textStart, open));
            out.add(id.getAsInt());
            textStart = end;
            from = end;
        }
        appendOrdinary(out, text.substring(textStart));
        return out.toArray();
    }

    /**
     * The end (exclusive) of the first {@code "|>"} after the {@code "<|"} at {@code open}, looking no further than the
     * longest special name, so that scanning stays linear in the text; -1 if there is none in that window.
     */
    private static int nameEnd(String text, int open) {
        int limit = Math.min(text.length(), open + HarmonyTokens.longestName());
        for (int i = open + 2; i + 1 < limit; i++) {
            if (text.charAt(i) == '|' && text.charAt(i + 1) == '>') return i + 2;
        }
        return -1;
    }

    private void appendOrdinary(IntArrayList out, String segment) {
        if (segment.isEmpty()) return;
        IntArrayList ids = base.encodeOrdinary(segment);
        for (int i = 0; i < ids.size(); i++) out.add(ids.get(i));
    }

    /**
     * The bytes of one token: an ordinary token's raw bytes (possibly part of a UTF-8 character), or the UTF-8 bytes
     * of a special token's name. Returns a fresh array.
     *
     * @throws IllegalArgumentException if {@code id} is outside the vocabulary
     */
    public byte[] tokenBytes(int id) {
        checkId(id);
        if (HarmonyTokens.isSpecial(id)) return HarmonyTokens.name(id).getBytes(StandardCharsets.UTF_8);
        IntArrayList one = new IntArrayList(1);
        one.add(id);
        return base.decodeBytes(one);
    }

    /**
     * Decodes ids to text, special ids as their names. Bytes that are not valid UTF-8 (a character cut off at the
     * end, say) become U+FFFD.
     *
     * @throws IllegalArgumentException if an id is outside the vocabulary
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        IntArrayList run = new IntArrayList(ids.length);
        for (int id : ids) {
            checkId(id);
            if (HarmonyTokens.isSpecial(id)) {
                flushRun(run, bytes);
                bytes.writeBytes(HarmonyTokens.name(id).getBytes(StandardCharsets.UTF_8));
            } else {
                run.add(id);
            }
        }
        flushRun(run, bytes);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private void flushRun(IntArrayList run, ByteArrayOutputStream bytes) {
        if (run.isEmpty()) return;
        bytes.writeBytes(base.decodeBytes(run));
        run.clear();
    }

    private static void checkId(int id) {
        if (id < 0 || id >= HarmonyTokens.VOCAB_SIZE)
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.."
                    + (HarmonyTokens.VOCAB_SIZE - 1) + ")");
    }
}
