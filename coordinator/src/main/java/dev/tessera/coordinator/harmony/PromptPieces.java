package dev.tessera.coordinator.harmony;

import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A prompt under construction as a sequence of pieces: special ids and text segments. The same pieces give both
 * the token ids ({@link #ids(Tokenizer)}) and the readable text ({@link #text()}), so the two cannot disagree.
 *
 * <p>NOTE: each text piece is encoded on its own with {@link Tokenizer#encode(String)}, the way harmony encodes a
 * header's role, recipient and channel and a message's content as separate strings. BPE never merges across piece
 * boundaries; for the pieces a renderer writes (a word, then " to=..." or " ") the boundaries are also
 * pre-tokenisation boundaries, so encoding the concatenated text gives the same ids.
 */
final class PromptPieces {

    private sealed interface Piece permits Special, Text {}

    private record Special(int id) implements Piece {}

    private record Text(String text) implements Piece {}

    private final List<Piece> pieces = new ArrayList<>();

    PromptPieces special(int id) {
        if (!HarmonyTokens.isSpecial(id)) throw new IllegalArgumentException("token id " + id + " is not special");
        pieces.add(new Special(id));
        return this;
    }

    /** Appends a text piece; an empty one adds nothing. */
    PromptPieces text(String text) {
        if (!text.isEmpty()) pieces.add(new Text(text));
        return this;
    }

    int[] ids(Tokenizer tokenizer) {
        List<int[]> parts = new ArrayList<>(pieces.size());
        int total = 0;
        for (Piece piece : pieces) {
            int[] part = switch (piece) {
                case Special s -> new int[] {s.id()};
                case Text t -> tokenizer.encode(t.text());
            };
            parts.add(part);
            total += part.length;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    /** The prompt as text, special ids by name. */
    String text() {
        StringBuilder out = new StringBuilder();
        for (Piece piece : pieces) {
            switch (piece) {
                case Special s -> out.append(HarmonyTokens.name(s.id()));
                case Text t -> out.append(t.text());
            }
        }
        return out.toString();
    }
}
