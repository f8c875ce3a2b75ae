package dev.tessera.coordinator.harmony;

import dev.tessera.coordinator.text.HarmonyTokens;
import java.util.ArrayList;
import java.util.List;

/**
 * The header of one message the model is writing, collected until {@code <|message|>}: the author part, then a part
 * after each {@code <|channel|>} or {@code <|constrain|>}.
 *
 * <p>Grammar, leniently: {@code author [to=RECIPIENT] [<|channel|>channel [to=RECIPIENT] [type]]
 * [ <|constrain|>type]}. The recipient may sit in the author part (as the Hugging Face template writes it) or after
 * the channel (as harmony and the model write it); the first {@code to=} word anywhere wins. Words beyond these are
 * content types ("json") and are ignored in a complete header.
 *
 * <p>For the first message of a response the author is implied: the prompt already ended with
 * {@code <|start|>assistant}, so the author part holds at most a recipient.
 */
final class MessageHeader {

    /** What a complete header says; {@code recipient} and {@code channel} are null when absent. */
    record Fields(String author, String recipient, String channel) {

        /** Whether the author is the assistant: "assistant", "assistant:name", or missing altogether. */
        boolean fromAssistant() {
            return author.isEmpty() || author.equals("assistant") || author.startsWith("assistant:");
        }
    }

    private record Part(int marker, StringBuilder text) {}

    private static final int NO_MARKER = -1;

    private final boolean impliedAuthor;
    private final List<Part> parts = new ArrayList<>(3);
    private int tokens;

    MessageHeader(boolean impliedAuthor) {
        this.impliedAuthor = impliedAuthor;
        parts.add(new Part(NO_MARKER, new StringBuilder()));
    }

    void append(String text) {
        parts.getLast().text().append(text);
    }

    /** Starts the part that {@code <|channel|>} or {@code <|constrain|>} introduces. */
    void marker(int id) {
        parts.add(new Part(id, new StringBuilder()));
    }

    /** Counts one more token of the header. */
    int countToken() {
        return ++tokens;
    }

    Fields fields() {
        String author = impliedAuthor ? "assistant" : "";
        String recipient = null;
        String channel = null;
        for (Part part : parts) {
            List<String> words = words(part.text());
            for (int i = 0; i < words.size(); i++) {
                String word = words.get(i);
                if (i == 0 && part.marker() == NO_MARKER && !impliedAuthor) author = word;
                else if (i == 0 && part.marker() == HarmonyTokens.CHANNEL && channel == null) channel = word;
                else if (word.startsWith("to=") && recipient == null) recipient = word.substring(3);
            }
        }
        return new Fields(author, recipient, channel);
    }

    /**
     * The text of a header that never reached {@code <|message|>}, less what reads as header fields: per part, the
     * leading author, channel or content type word and a {@code to=} word right after it are dropped, and the rest
     * is kept as written. A header cut off by the end of the stream thus yields "", while text the model wrote
     * without any header comes back whole.
     */
    String leftover() {
        StringBuilder out = new StringBuilder();
        for (Part part : parts) {
            String text = part.text().toString();
            int at = 0;
            boolean skipped = false;
            if (part.marker() != NO_MARKER || !impliedAuthor) {
                int end = wordEnd(text, wordStart(text, 0));
                skipped = end > 0;
                at = end;
            }
            int next = wordStart(text, at);
            if (text.startsWith("to=", next)) {
                at = wordEnd(text, next);
                skipped = true;
            }
            out.append(skipped ? text.substring(wordStart(text, at)) : text.substring(at));
        }
        return out.toString();
    }

    private static List<String> words(CharSequence text) {
        List<String> words = new ArrayList<>();
        String s = text.toString();
        for (int start = wordStart(s, 0); start < s.length(); start = wordStart(s, wordEnd(s, start)))
            words.add(s.substring(start, wordEnd(s, start)));
        return words;
    }

    /** The index of the first non-whitespace char at or after {@code from}; the length when there is none. */
    private static int wordStart(String s, int from) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        return i;
    }

    private static int wordEnd(String s, int start) {
        int i = start;
        while (i < s.length() && !Character.isWhitespace(s.charAt(i))) i++;
        return i;
    }
}
