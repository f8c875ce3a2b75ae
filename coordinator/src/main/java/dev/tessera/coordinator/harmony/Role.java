package dev.tessera.coordinator.harmony;

import java.util.Locale;

/** The author of an OpenAI chat message. */
public enum Role {
    SYSTEM, DEVELOPER, USER, ASSISTANT, TOOL;

    /**
     * The role an OpenAI request names: "system", "developer", "user", "assistant" or "tool" (any case).
     *
     * @throws IllegalArgumentException for any other name (the legacy "function" role included)
     */
    public static Role fromOpenAi(String name) {
        if (name != null) {
            for (Role role : values()) {
                if (role.name().equalsIgnoreCase(name)) return role;
            }
        }
        throw new IllegalArgumentException("unknown message role '" + name
                + "'; expected system, developer, user, assistant or tool");
    }

    /** The OpenAI name of the role, in lower case. */
    public String openAiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
