package dev.tessera.coordinator.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TokenizerTest {

    private final Tokenizer tokenizer = Tokenizer.shared();

    @Test
    void sharedInstanceIsLoadedOnce() {
        assertSame(tokenizer, Tokenizer.shared());
        assertEquals(201_088, tokenizer.vocabSize());
    }

    @Test
    void helloWorldEncodesAndRoundTrips() {
        int[] ids = tokenizer.encode("Hello world");
        assertArrayEquals(new int[] {13225, 2375}, ids);
        assertEquals("Hello world", tokenizer.decode(ids));
    }

    @Test
    void knownSingleTokenWords() {
        assertArrayEquals(new int[] {173781}, tokenizer.encode("assistant"));
        assertArrayEquals(new int[] {35644}, tokenizer.encode("analysis"));
        assertArrayEquals(new int[] {17196}, tokenizer.encode("final"));
        assertArrayEquals(new int[] {24912}, tokenizer.encode("hello"));
    }

    /** The harmony format documentation's tokenisation example. */
    @Test
    void harmonyCompletionMatchesThePublishedTokenVector() {
        String completion = "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic. Provide"
                + " answer.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";
        int[] expected = {200005, 35644, 200008, 1844, 31064, 25, 392, 4827, 382, 220, 17, 659, 220, 17, 16842,
                12295, 81645, 13, 51441, 6052, 13, 200007, 200006, 173781, 200005, 17196, 200008, 17, 659, 220, 17,
                314, 220, 19, 13, 200002};
        int[] ids = tokenizer.encodeWithSpecials(completion);
        assertArrayEquals(expected, ids);
        assertEquals(completion, tokenizer.decode(ids));
    }

    @Test
    void renderedMessageSplicesSpecialIds() {
        String message = "<|start|>user<|message|>Hello world<|end|>";
        int[] ids = tokenizer.encodeWithSpecials(message);
        assertArrayEquals(new int[] {200006, 1428, 200008, 13225, 2375, 200007}, ids);
        assertEquals(message, tokenizer.decode(ids));
    }

    @Test
    void userTextSpellingSpecialTokensStaysText() {
        String message = "<|start|>user<|message|>Hello world<|end|>";
        int[] ids = tokenizer.encode(message);
        assertTrue(Arrays.stream(ids).noneMatch(tokenizer::isSpecial), Arrays.toString(ids));
        assertTrue(ids.length > 6);
        assertEquals(message, tokenizer.decode(ids));
    }

    @Test
    void unknownOrBrokenNamesStayTextAroundRealOnes() {
        int[] ids = tokenizer.encodeWithSpecials("<|foo|> <|<|start|>x|>");
        assertEquals(1, Arrays.stream(ids).filter(tokenizer::isSpecial).count(), Arrays.toString(ids));
        assertTrue(Arrays.stream(ids).anyMatch(id -> id == HarmonyTokens.START));
        assertEquals("<|foo|> <|<|start|>x|>", tokenizer.decode(ids));
        int start = indexOf(ids, HarmonyTokens.START);
        assertEquals("<|foo|> <|", tokenizer.decode(Arrays.copyOfRange(ids, 0, start)));
    }

    @Test
    void reservedNamesAndTheEndOfPromptAlias() {
        assertArrayEquals(new int[] {200_000, HarmonyTokens.ENDOFPROMPT, HarmonyTokens.ENDOFPROMPT, 201_087},
                tokenizer.encodeWithSpecials("<|reserved_200000|><|endofprompt|><|reserved_200018|><|reserved_201087|>"));
        assertEquals("<|reserved_200000|><|endofprompt|>", tokenizer.decode(new int[] {200_000, 200_018}));
    }

    @Test
    void tokenBytesOfOrdinaryAndSpecialIds() {
        assertArrayEquals(" world".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(2375));
        assertArrayEquals("<|call|>".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(HarmonyTokens.CALL));
        assertArrayEquals("<|endofprompt|>".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(200_018));
        assertArrayEquals("<|reserved_200013|>".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(200_013));
        assertArrayEquals("<|startoftext|>".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(199_998));
    }

    @Test
    void everyOrdinaryIdHasBytes() {
        for (int id = 0; id < HarmonyTokens.FIRST_SPECIAL; id++) {
            assertTrue(tokenizer.tokenBytes(id).length > 0, "id " + id);
        }
    }

    @Test
    void specialBoundaries() {
        assertFalse(tokenizer.isSpecial(0));
        assertFalse(tokenizer.isSpecial(199_997));
        assertTrue(tokenizer.isSpecial(199_998));
        assertTrue(tokenizer.isSpecial(201_087));
    }

    @Test
    void idsOutsideTheVocabularyAreRejectedWithTheId() {
        for (int bad : new int[] {-1, 201_088, Integer.MAX_VALUE}) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> tokenizer.tokenBytes(bad))
                    .getMessage().contains(Integer.toString(bad)));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> tokenizer.isSpecial(bad))
                    .getMessage().contains(Integer.toString(bad)));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {13225, bad}))
                    .getMessage().contains(Integer.toString(bad)));
        }
    }

    @Test
    void truncatedCharacterDecodesAsReplacement() {
        byte[] cut = Arrays.copyOf("é".getBytes(StandardCharsets.UTF_8), 1);
        int id = findTokenWithBytes(cut);
        assertEquals("a\uFFFD", tokenizer.decode(new int[] {tokenizer.encode("a")[0], id}));
    }

    private int findTokenWithBytes(byte[] bytes) {
        for (int id = 0; id < HarmonyTokens.FIRST_SPECIAL; id++) {
            if (Arrays.equals(bytes, tokenizer.tokenBytes(id))) return id;
        }
        throw new AssertionError("no token has bytes " + Arrays.toString(bytes));
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == id) return i;
        return -1;
    }
}
