package dev.tessera.coordinator.harmony;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A function the model may call (an OpenAI {@code tools[]} entry of type "function").
 *
 * @param name        the function's name; rendered as {@code functions.NAME}, so it must not be blank or contain
 *                    whitespace
 * @param description what the function does; null or "" for none
 * @param parameters  a JSON Schema object describing the arguments, or null (a JSON null counts as null) for a
 *                    function without arguments
 */
public record FunctionTool(String name, String description, JsonNode parameters) {
    public FunctionTool {
        checkName(name, "function");
        if (parameters != null && (parameters.isNull() || parameters.isMissingNode())) parameters = null;
        if (parameters != null && !parameters.isObject())
            throw new IllegalArgumentException("the parameters of function '" + name
                    + "' must be a JSON Schema object, got " + parameters.getNodeType());
    }

    /** Rejects a function name that cannot be written into a harmony header. */
    static void checkName(String name, String what) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a " + what + " needs a name");
        if (name.codePoints().anyMatch(Character::isWhitespace) || name.contains("<|"))
            throw new IllegalArgumentException("the " + what + " name '" + name
                    + "' must not contain whitespace or '<|'");
    }
}
