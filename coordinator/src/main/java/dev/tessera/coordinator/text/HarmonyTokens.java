package dev.tessera.coordinator.text;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The special ids of the o200k_harmony vocabulary and their names.
 *
 * <p>Ids {@code 0..199997} are o200k_base's byte-level BPE tokens; ids {@value #FIRST_SPECIAL}..{@code 201087} are
 * special: the named harmony tokens below and {@code <|reserved_N|>} for every other id. Id 200018 has two names,
 * {@code <|endofprompt|>} (inherited from o200k_base, and what it decodes to) and {@code <|reserved_200018|>};
 * both are recognised by {@link #idOf(String)}.
 */
public final class HarmonyTokens {

    /** Number of ids, 0..201087; equal to the model's vocab_size. */
    public static final int VOCAB_SIZE = 201_088;
    /** The first special id; every id below it is an ordinary BPE token. */
    public static final int FIRST_SPECIAL = 199_998;

    public static final int STARTOFTEXT = 199_998;
    public static final int ENDOFTEXT = 199_999;
    public static final int RETURN = 200_002;
    public static final int CONSTRAIN = 200_003;
    public static final int CHANNEL = 200_005;
    public static final int START = 200_006;
    public static final int END = 200_007;
    public static final int MESSAGE = 200_008;
    public static final int CALL = 200_012;
    public static final int ENDOFPROMPT = 200_018;

    /**
     * The ids that end generation by default: {@code <|return|>}, {@code <|endoftext|>} and {@code <|call|>}, the
     * eos_token_id list of the model's generation_config.json.
     *
     * <p>NOTE: {@code <|end|>} is deliberately absent: stopping on it would end the stream after the analysis
     * message instead of letting the model go on to its final answer.
     */
    public static final Set<Integer> DEFAULT_STOP_IDS = Set.of(RETURN, ENDOFTEXT, CALL);

    private static final Map<Integer, String> NAMED = Map.of(
            STARTOFTEXT, "<|startoftext|>", ENDOFTEXT, "<|endoftext|>", RETURN, "<|return|>",
            CONSTRAIN, "<|constrain|>", CHANNEL, "<|channel|>", START, "<|start|>", END, "<|end|>",
            MESSAGE, "<|message|>", CALL, "<|call|>", ENDOFPROMPT, "<|endofprompt|>");

    private static final String[] NAMES = new String[VOCAB_SIZE - FIRST_SPECIAL];
    private static final Map<String, Integer> IDS = new HashMap<>(2 * NAMES.length);
    private static final int LONGEST_NAME;

    static {
        for (int id = FIRST_SPECIAL; id < VOCAB_SIZE; id++) {
            String name = NAMED.getOrDefault(id, "<|reserved_" + id + "|>");
            NAMES[id - FIRST_SPECIAL] = name;
            IDS.put(name, id);
        }
        IDS.put("<|reserved_" + ENDOFPROMPT + "|>", ENDOFPROMPT);
        LONGEST_NAME = IDS.keySet().stream().mapToInt(String::length).max().orElseThrow();
    }

    private HarmonyTokens() {}

    /** Whether {@code id} is a special id; false for ordinary ids and for ids outside the vocabulary. */
    public static boolean isSpecial(int id) {
        return id >= FIRST_SPECIAL && id < VOCAB_SIZE;
    }

    /** Whether {@code id} is in {@link #DEFAULT_STOP_IDS}. */
    public static boolean isDefaultStop(int id) {
        return id == RETURN || id == ENDOFTEXT || id == CALL;
    }

    /**
     * The name of a special id, e.g. {@code "<|start|>"} or {@code "<|reserved_200000|>"}.
     *
     * @throws IllegalArgumentException if {@code id} is not special
     */
    public static String name(int id) {
        if (!isSpecial(id))
            throw new IllegalArgumentException("token id " + id + " is not a special id (" + FIRST_SPECIAL + ".."
                    + (VOCAB_SIZE - 1) + ")");
        return NAMES[id - FIRST_SPECIAL];
    }

    /** The special id named exactly {@code name}, or empty when no special token has that name. */
    public static OptionalInt idOf(String name) {
        Integer id = IDS.get(name);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The length in chars of the longest special-token name. */
    static int longestName() {
        return LONGEST_NAME;
    }
}
