package dev.tessera.coordinator.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.text.TextDecoder.Specials;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TextDecoderTest {

    private static final String MIXED = "Grüße aus Köln, señor! 世界你好，日本語のテキスト。 Emoji: 😀🎉🧑‍🚀👍🏽 "
            + "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ — done.";

    private final Tokenizer tokenizer = Tokenizer.shared();

    @Test
    void tokenByTokenReassemblesMultiByteText() {
        int[] ids = tokenizer.encode(MIXED);
        TextDecoder decoder = new TextDecoder(tokenizer, Specials.INCLUDE);
        StringBuilder out = new StringBuilder();
        int emptyPushes = 0;
        for (int id : ids) {
            String piece = decoder.push(id);
            assertWellFormed(piece);
            assertFalse(piece.contains("\uFFFD"), "replacement char after token " + id);
            if (piece.isEmpty()) emptyPushes++;
            out.append(piece);
        }
        assertEquals("", decoder.flush());
        assertEquals(MIXED, out.toString());
        assertTrue(emptyPushes > 0, "the text should contain at least one character split across tokens");
    }

    @Test
    void characterSplitAcrossTokensIsHeldUntilComplete() {
        int[] split = findSplitCharacter();
        TextDecoder decoder = new TextDecoder(tokenizer, Specials.INCLUDE);
        assertEquals("", decoder.push(split[0]));
        assertTrue(decoder.pendingBytes() > 0);
        String character = tokenizer.decode(split);
        assertEquals(character, decoder.push(split[1]));
        assertEquals(0, decoder.pendingBytes());
        assertEquals(1, character.codePointCount(0, character.length()));
    }

    @Test
    void flushTurnsAnIncompleteTailIntoReplacement() {
        int[] split = findSplitCharacter();
        TextDecoder decoder = new TextDecoder(tokenizer, Specials.INCLUDE);
        int hello = tokenizer.encode("hello")[0];
        assertEquals("hello", decoder.push(hello));
        assertEquals("", decoder.push(split[0]));
        assertEquals("\uFFFD", decoder.flush());
        assertEquals("hello\uFFFD", tokenizer.decode(new int[] {hello, split[0]}));
        assertEquals("", decoder.flush());
    }

    @Test
    void specialsIncludedOrSkipped() {
        int[] ids = tokenizer.encodeWithSpecials("<|channel|>final<|message|>Hi 😀<|return|>");
        TextDecoder include = new TextDecoder(tokenizer, Specials.INCLUDE);
        TextDecoder skip = new TextDecoder(tokenizer, Specials.SKIP);
        StringBuilder withSpecials = new StringBuilder();
        StringBuilder withoutSpecials = new StringBuilder();
        for (int id : ids) {
            withSpecials.append(include.push(id));
            withoutSpecials.append(skip.push(id));
        }
        assertEquals("<|channel|>final<|message|>Hi 😀<|return|>", withSpecials + include.flush());
        assertEquals("finalHi 😀", withoutSpecials + skip.flush());
        assertEquals("<|end|>", new TextDecoder(tokenizer, Specials.INCLUDE).push(HarmonyTokens.END));
        assertEquals("", new TextDecoder(tokenizer, Specials.SKIP).push(HarmonyTokens.END));
    }

    @Test
    void skippedSpecialLeavesAHeldTailInPlace() {
        int[] split = findSplitCharacter();
        TextDecoder decoder = new TextDecoder(tokenizer, Specials.SKIP);
        assertEquals("", decoder.push(split[0]));
        assertEquals("", decoder.push(HarmonyTokens.END));
        assertEquals(tokenizer.decode(split), decoder.push(split[1]));
    }

    /** Arbitrary ordinary ids form invalid UTF-8 often; streamed output must still equal a one-shot decode. */
    @Test
    void streamedOutputEqualsOneShotDecodeForArbitraryIds() {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            int[] ids = new int[1 + random.nextInt(12)];
            for (int i = 0; i < ids.length; i++) ids[i] = randomId(random);
            TextDecoder decoder = new TextDecoder(tokenizer, Specials.INCLUDE);
            StringBuilder out = new StringBuilder();
            for (int id : ids) {
                String piece = decoder.push(id);
                assertWellFormed(piece);
                out.append(piece);
            }
            out.append(decoder.flush());
            assertEquals(tokenizer.decode(ids), out.toString(), () -> "ids " + java.util.Arrays.toString(ids));
        }
    }

    @Test
    void completePrefixHoldsOnlyCompletableTails() {
        assertEquals(1, TextDecoder.completePrefix(bytes(0x61, 0xF0, 0x9F, 0x98)));
        assertEquals(4, TextDecoder.completePrefix(bytes(0xF0, 0x9F, 0x98, 0x80)));
        assertEquals(0, TextDecoder.completePrefix(bytes(0xE4)));
        assertEquals(0, TextDecoder.completePrefix(bytes(0xE0, 0xA0)));
        assertEquals(2, TextDecoder.completePrefix(bytes(0xE0, 0x80)), "overlong start cannot complete");
        assertEquals(2, TextDecoder.completePrefix(bytes(0xED, 0xA0)), "surrogate start cannot complete");
        assertEquals(2, TextDecoder.completePrefix(bytes(0xF4, 0x90)), "above U+10FFFF cannot complete");
        assertEquals(1, TextDecoder.completePrefix(bytes(0xC0)), "C0 never leads a sequence");
        assertEquals(3, TextDecoder.completePrefix(bytes(0x80, 0x80, 0x80)));
        assertEquals(0, TextDecoder.completePrefix(bytes()));
    }

    /** Two ids whose bytes together are one character, the first of them not a complete character on its own. */
    private int[] findSplitCharacter() {
        int offset = 0;
        while (offset < MIXED.length()) {
            int cp = MIXED.codePointAt(offset);
            int[] ids = tokenizer.encode(Character.toString(cp));
            if (ids.length == 2) return ids;
            offset += Character.charCount(cp);
        }
        throw new AssertionError("no character of the sample text encodes to two tokens");
    }

    private static int randomId(Random random) {
        // Bias towards short tokens (low ranks are mostly single bytes and fragments), plus some specials.
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt(256);
            case 1 -> random.nextInt(2_000);
            case 2 -> random.nextInt(HarmonyTokens.FIRST_SPECIAL);
            default -> random.nextInt(8) == 0 ? HarmonyTokens.END : random.nextInt(HarmonyTokens.FIRST_SPECIAL);
        };
    }

    private static void assertWellFormed(String piece) {
        assertNotNull(piece);
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertTrue(i + 1 < piece.length() && Character.isLowSurrogate(piece.charAt(i + 1)),
                        "lone high surrogate in " + piece);
                i++;
            } else {
                assertFalse(Character.isLowSurrogate(c), "lone low surrogate in " + piece);
            }
        }
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }
}
