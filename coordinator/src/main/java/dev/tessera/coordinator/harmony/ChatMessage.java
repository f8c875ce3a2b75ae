package dev.tessera.coordinator.harmony;

import java.util.List;
import java.util.Objects;

/**
 * One OpenAI chat message.
 *
 * @param role       who wrote it
 * @param content    its text; may be null (an assistant message with only tool calls; for other roles null reads
 *                   as "")
 * @param reasoning  an assistant's earlier analysis text (OpenAI-compatible servers accept it as
 *                   "reasoning_content"); null if none. Ignored for roles other than {@link Role#ASSISTANT}.
 * @param toolCalls  the function calls an assistant message made, in order; empty unless the role is
 *                   {@link Role#ASSISTANT} (null reads as empty)
 * @param toolCallId for {@link Role#TOOL}: the id of the call this is the result of, kept for reference only
 * @param name       for {@link Role#TOOL}: the function the result belongs to (the gateway resolves it from
 *                   {@code tool_call_id}); required there. Ignored for other roles.
 */
public record ChatMessage(Role role, String content, String reasoning, List<ToolCall> toolCalls, String toolCallId,
                          String name) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
        if (!toolCalls.isEmpty() && role != Role.ASSISTANT)
            throw new IllegalArgumentException("only assistant messages carry tool calls, not " + role.openAiName());
        if (role == Role.TOOL) FunctionTool.checkName(name, "tool result's function");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content, null, List.of(), null, null);
    }

    public static ChatMessage developer(String content) {
        return new ChatMessage(Role.DEVELOPER, content, null, List.of(), null, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content, null, List.of(), null, null);
    }

    /** An assistant's final answer without reasoning or tool calls. */
    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content, null, List.of(), null, null);
    }

    public static ChatMessage assistant(String content, String reasoning, List<ToolCall> toolCalls) {
        return new ChatMessage(Role.ASSISTANT, content, reasoning, toolCalls, null, null);
    }

    /** The result of the call {@code toolCallId} to the function {@code name}. */
    public static ChatMessage tool(String name, String toolCallId, String content) {
        return new ChatMessage(Role.TOOL, content, null, List.of(), toolCallId, name);
    }

    /** The content, "" when null. */
    String text() {
        return content == null ? "" : content;
    }

    /** Whether there is earlier analysis to render: an assistant message with non-empty reasoning. */
    boolean hasReasoning() {
        return role == Role.ASSISTANT && reasoning != null && !reasoning.isEmpty();
    }
}
