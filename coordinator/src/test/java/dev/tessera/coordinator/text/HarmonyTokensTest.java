package dev.tessera.coordinator.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HarmonyTokensTest {

    @Test
    void namedTokens() {
        assertEquals("<|start|>", HarmonyTokens.name(200_006));
        assertEquals("<|end|>", HarmonyTokens.name(200_007));
        assertEquals("<|message|>", HarmonyTokens.name(200_008));
        assertEquals("<|channel|>", HarmonyTokens.name(200_005));
        assertEquals("<|return|>", HarmonyTokens.name(200_002));
        assertEquals("<|call|>", HarmonyTokens.name(200_012));
        assertEquals("<|constrain|>", HarmonyTokens.name(200_003));
        assertEquals("<|endoftext|>", HarmonyTokens.name(199_999));
        assertEquals("<|startoftext|>", HarmonyTokens.name(199_998));
        assertEquals("<|endofprompt|>", HarmonyTokens.name(200_018));
        assertEquals("<|reserved_200004|>", HarmonyTokens.name(200_004));
        assertEquals("<|reserved_201087|>", HarmonyTokens.name(201_087));
    }

    @Test
    void everySpecialIdHasADistinctNameThatMapsBack() {
        Set<String> names = new HashSet<>();
        for (int id = HarmonyTokens.FIRST_SPECIAL; id < HarmonyTokens.VOCAB_SIZE; id++) {
            String name = HarmonyTokens.name(id);
            assertTrue(names.add(name), name);
            assertEquals(id, HarmonyTokens.idOf(name).orElseThrow(), name);
        }
        assertEquals(1090, names.size());
        assertEquals(200_018, HarmonyTokens.idOf("<|reserved_200018|>").orElseThrow());
        assertTrue(HarmonyTokens.idOf("<|reserved_201088|>").isEmpty());
        assertTrue(HarmonyTokens.idOf("<|refusal|>").isEmpty());
    }

    @Test
    void defaultStopsAreReturnEndOfTextAndCall() {
        assertEquals(Set.of(200_002, 199_999, 200_012), HarmonyTokens.DEFAULT_STOP_IDS);
        for (int id = HarmonyTokens.FIRST_SPECIAL - 2; id < HarmonyTokens.VOCAB_SIZE; id++) {
            assertEquals(HarmonyTokens.DEFAULT_STOP_IDS.contains(id), HarmonyTokens.isDefaultStop(id), "id " + id);
        }
        assertFalse(HarmonyTokens.isDefaultStop(HarmonyTokens.END));
    }

    @Test
    void ordinaryIdsHaveNoName() {
        assertThrows(IllegalArgumentException.class, () -> HarmonyTokens.name(199_997));
        assertThrows(IllegalArgumentException.class, () -> HarmonyTokens.name(201_088));
    }
}
