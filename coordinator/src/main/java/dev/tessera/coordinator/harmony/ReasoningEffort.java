package dev.tessera.coordinator.harmony;

import java.util.Locale;

/**
 * How much the model reasons before answering, rendered as the system message's {@code "Reasoning: low|medium|high"}
 * line. {@link #MEDIUM} is harmony's default.
 */
public enum ReasoningEffort {
    LOW, MEDIUM, HIGH;

    /** The default when a request names none. */
    public static final ReasoningEffort DEFAULT = MEDIUM;

    /** The word rendered after "Reasoning: ". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The effort an OpenAI {@code reasoning_effort} value names ("low", "medium", "high", any case); the default
     * when {@code value} is null.
     *
     * @throws IllegalArgumentException for any other value
     */
    public static ReasoningEffort fromOpenAi(String value) {
        if (value == null) return DEFAULT;
        for (ReasoningEffort effort : values()) {
            if (effort.label().equalsIgnoreCase(value)) return effort;
        }
        throw new IllegalArgumentException("unknown reasoning effort '" + value + "'; expected low, medium or high");
    }
}
