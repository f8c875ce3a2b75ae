package dev.tessera.coordinator.harmony;

import java.util.Objects;

/**
 * A piece of a parsed gpt-oss response, in the order the model produced it. Text deltas are never empty and never
 * contain special tokens or half of a UTF-8 character.
 */
public sealed interface HarmonyDelta {

    /** User-visible text: the final channel, and commentary without a recipient (a preamble before tool calls). */
    record Content(String text) implements HarmonyDelta {
        public Content {
            checkText(text);
        }
    }

    /** Chain of thought: the analysis channel. */
    record Reasoning(String text) implements HarmonyDelta {
        public Reasoning {
            checkText(text);
        }
    }

    /**
     * A tool call begins: its header is complete. Arguments follow as {@link ToolCallArguments} with the same index.
     *
     * @param index the call's position in this response: 0, 1, ...
     * @param id    the id the call is known by ("call_..."), from the parser's id supplier
     * @param name  the function's name: the recipient without its "functions." prefix (another recipient, such as a
     *              built-in tool's, is given whole)
     */
    record ToolCallStart(int index, String id, String name) implements HarmonyDelta {
        public ToolCallStart {
            if (index < 0) throw new IllegalArgumentException("index must be >= 0, got " + index);
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
        }
    }

    /** More of the arguments (JSON text, as the model writes it) of the tool call {@code index}. */
    record ToolCallArguments(int index, String text) implements HarmonyDelta {
        public ToolCallArguments {
            if (index < 0) throw new IllegalArgumentException("index must be >= 0, got " + index);
            checkText(text);
        }
    }

    private static void checkText(String text) {
        if (text == null || text.isEmpty()) throw new IllegalArgumentException("a text delta must not be empty");
    }
}
