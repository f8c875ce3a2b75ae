package dev.tessera.coordinator.harmony;

import java.util.Objects;

/**
 * One function call an assistant message made.
 *
 * @param id        the call's id as the client knows it ("call_..."); may be null, it is not rendered
 * @param name      the function's name; no whitespace, since it becomes part of the message header
 * @param arguments the arguments as a JSON string, exactly as OpenAI sends them; null is read as "{}"
 */
public record ToolCall(String id, String name, String arguments) {
    public ToolCall {
        FunctionTool.checkName(name, "tool call");
        arguments = Objects.requireNonNullElse(arguments, "{}");
    }
}
