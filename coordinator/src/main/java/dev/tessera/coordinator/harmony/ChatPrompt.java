package dev.tessera.coordinator.harmony;

import java.util.List;
import java.util.Objects;

/**
 * Everything that shapes a chat completion's prompt.
 *
 * @param messages       the conversation, in order (null reads as none)
 * @param tools          the functions the model may call (null reads as none); names must be unique
 * @param effort         the reasoning effort; null reads as {@link ReasoningEffort#DEFAULT}
 * @param forcedFunction non-null when {@code tool_choice} names a function: the prompt then ends with that call's
 *                       header, so the model writes its arguments. It must be one of {@code tools}.
 */
public record ChatPrompt(List<ChatMessage> messages, List<FunctionTool> tools, ReasoningEffort effort,
                         String forcedFunction) {
    public ChatPrompt {
        messages = messages == null ? List.of() : List.copyOf(messages);
        tools = tools == null ? List.of() : List.copyOf(tools);
        effort = Objects.requireNonNullElse(effort, ReasoningEffort.DEFAULT);
        long distinct = tools.stream().map(FunctionTool::name).distinct().count();
        if (distinct != tools.size()) throw new IllegalArgumentException("function names must be unique");
        if (forcedFunction != null && tools.stream().noneMatch(t -> t.name().equals(forcedFunction)))
            throw new IllegalArgumentException("tool_choice names the function '" + forcedFunction
                    + "', which is not among the request's tools");
    }

    /** A prompt without tools, at the default effort. */
    public static ChatPrompt of(List<ChatMessage> messages) {
        return new ChatPrompt(messages, List.of(), ReasoningEffort.DEFAULT, null);
    }
}
