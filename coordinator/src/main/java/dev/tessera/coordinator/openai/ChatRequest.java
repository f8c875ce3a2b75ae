package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.coordinator.harmony.ChatMessage;
import dev.tessera.coordinator.harmony.ChatPrompt;
import dev.tessera.coordinator.harmony.FunctionTool;
import dev.tessera.coordinator.harmony.ReasoningEffort;
import dev.tessera.coordinator.harmony.Role;
import dev.tessera.coordinator.harmony.ToolCall;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A {@code POST /v1/chat/completions} body, checked field by field and turned into a harmony {@link ChatPrompt}.
 *
 * @param prompt the conversation, tools, reasoning effort and forced function, ready to render
 * @param params the shared sampling and streaming fields
 */
record ChatRequest(ChatPrompt prompt, GenerationParams params) {

    private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    static ChatRequest parse(JsonFields f) throws ApiError.Refusal {
        try {
            return read(f);
        } catch (IllegalArgumentException e) {
            // The harmony records check what JSON types cannot: names, roles that may carry tool calls, and so on.
            throw ApiError.invalid("messages", e.getMessage()).refusal();
        }
    }

    private static ChatRequest read(JsonFields f) throws ApiError.Refusal {
        GenerationParams params = GenerationParams.parse(f, true);
        List<FunctionTool> tools = tools(f);
        String forced = null;
        JsonNode choice = f.raw("tool_choice");
        if (choice != null) {
            if (choice.isTextual()) {
                switch (choice.textValue()) {
                    case "auto" -> { }
                    case "none" -> tools = List.of(); // NOTE: the model cannot call what it is not shown
                    case "required" -> throw ApiError.invalid("tool_choice", "tool_choice 'required' is not supported; "
                            + "use 'auto' or name the function to call").refusal();
                    default -> throw ApiError.invalid("tool_choice", "'tool_choice' must be 'auto', 'none' or "
                            + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got '" + choice.textValue() + "'").refusal();
                }
            } else if (choice.isObject()) {
                JsonFields c = f.object("tool_choice");
                JsonFields fn = c.object("function");
                if (!"function".equals(c.string("type")) || fn == null)
                    throw ApiError.invalid("tool_choice", "a named tool_choice is {\"type\": \"function\", \"function\": {\"name\": ...}}").refusal();
                forced = fn.requiredString("name");
                String name = forced;
                if (tools.stream().noneMatch(t -> t.name().equals(name)))
                    throw ApiError.invalid("tool_choice", "tool_choice names '" + forced + "', which is not among 'tools'").refusal();
            } else {
                throw ApiError.invalid("tool_choice", "'tool_choice' must be a string or an object, got " + JsonFields.kind(choice)).refusal();
            }
        }
        JsonFields format = f.object("response_format");
        if (format != null && !"text".equals(format.string("type")))
            throw ApiError.invalid("response_format", "only response_format {\"type\": \"text\"} is supported; got "
                    + format.string("type")).refusal();
        return new ChatRequest(new ChatPrompt(messages(f), tools, effort(f), forced), params);
    }

    private static ReasoningEffort effort(JsonFields f) throws ApiError.Refusal {
        String field = "reasoning_effort";
        String effort = f.string(field);
        if (effort == null) {
            JsonFields reasoning = f.object("reasoning"); // the Responses API's {"reasoning": {"effort": ...}}
            if (reasoning != null) {
                effort = reasoning.string("effort");
                field = "reasoning.effort";
            }
        }
        if (effort == null) return ReasoningEffort.MEDIUM;
        return switch (effort.toLowerCase(Locale.ROOT)) {
            case "minimal", "low" -> ReasoningEffort.LOW;
            case "medium" -> ReasoningEffort.MEDIUM;
            case "high" -> ReasoningEffort.HIGH;
            default -> throw ApiError.invalid(field, "'" + field + "' must be 'low', 'medium' or 'high', got '" + effort + "'").refusal();
        };
    }

    private static List<FunctionTool> tools(JsonFields f) throws ApiError.Refusal {
        List<JsonFields> tools = f.objects("tools");
        if (tools == null) return List.of();
        List<FunctionTool> out = new ArrayList<>(tools.size());
        for (JsonFields t : tools) {
            String type = t.requiredString("type");
            if (!type.equals("function"))
                throw ApiError.invalid(t.name("type"), "only tools of type 'function' are supported, got '" + type + "'").refusal();
            JsonFields fn = t.object("function");
            if (fn == null) throw ApiError.invalid(t.name("function"), "'" + t.name("function") + "' is required").refusal();
            String name = fn.requiredString("name");
            if (!FUNCTION_NAME.matcher(name).matches())
                throw ApiError.invalid(fn.name("name"), "a function name must be 1 to 64 letters, digits, '_', '.' or '-', got '" + name + "'").refusal();
            JsonNode parameters = fn.raw("parameters");
            if (parameters != null && !parameters.isObject())
                throw ApiError.invalid(fn.name("parameters"), "'" + fn.name("parameters") + "' must be a JSON Schema object").refusal();
            out.add(new FunctionTool(name, fn.string("description"), parameters));
        }
        return out;
    }

    private static List<ChatMessage> messages(JsonFields f) throws ApiError.Refusal {
        List<JsonFields> messages = f.objects("messages");
        if (messages == null || messages.isEmpty())
            throw ApiError.invalid("messages", "'messages' must be a non-empty array").refusal();
        Map<String, String> callNames = new HashMap<>(); // tool_call_id -> function name, from earlier assistant turns
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (JsonFields m : messages) {
            String role = m.requiredString("role");
            ChatMessage message = switch (role) {
                case "system" -> new ChatMessage(Role.SYSTEM, requiredText(m), null, List.of(), null, m.string("name"));
                case "developer" -> new ChatMessage(Role.DEVELOPER, requiredText(m), null, List.of(), null, m.string("name"));
                case "user" -> new ChatMessage(Role.USER, requiredText(m), null, List.of(), null, m.string("name"));
                case "assistant" -> assistant(m, callNames);
                case "tool" -> tool(m, callNames);
                default -> throw ApiError.invalid(m.name("role"), "'" + m.name("role")
                        + "' must be system, developer, user, assistant or tool, got '" + role + "'").refusal();
            };
            out.add(message);
        }
        return out;
    }

    private static ChatMessage assistant(JsonFields m, Map<String, String> callNames) throws ApiError.Refusal {
        List<ToolCall> calls = new ArrayList<>();
        List<JsonFields> toolCalls = m.objects("tool_calls");
        if (toolCalls != null) {
            for (JsonFields c : toolCalls) {
                JsonFields fn = c.object("function");
                if (fn == null) throw ApiError.invalid(c.name("function"), "'" + c.name("function") + "' is required").refusal();
                String name = fn.requiredString("name");
                String arguments = fn.string("arguments");
                String id = c.string("id");
                calls.add(new ToolCall(id, name, arguments == null ? "{}" : arguments));
                if (id != null) callNames.put(id, name);
            }
        }
        String content = text(m);
        String reasoning = m.string("reasoning_content");
        if (reasoning == null) reasoning = m.string("reasoning");
        if (content == null && calls.isEmpty() && reasoning == null)
            throw ApiError.invalid(m.name("content"), "an assistant message needs 'content' or 'tool_calls'").refusal();
        return new ChatMessage(Role.ASSISTANT, content, reasoning, List.copyOf(calls), null, m.string("name"));
    }

    private static ChatMessage tool(JsonFields m, Map<String, String> callNames) throws ApiError.Refusal {
        String callId = m.requiredString("tool_call_id");
        String name = callNames.get(callId);
        if (name == null) name = m.string("name");
        if (name == null)
            throw ApiError.invalid(m.name("tool_call_id"), "'" + m.name("tool_call_id") + "' is '" + callId
                    + "', which no earlier assistant message's tool_calls has; the result cannot be matched to its function").refusal();
        return new ChatMessage(Role.TOOL, requiredText(m), null, List.of(), callId, name);
    }

    private static String requiredText(JsonFields m) throws ApiError.Refusal {
        String text = text(m);
        if (text == null) throw ApiError.invalid(m.name("content"), "'" + m.name("content") + "' is required").refusal();
        return text;
    }

    /** A message's content: a string, or an array of text parts joined; other parts (images, audio) are refused. */
    private static String text(JsonFields m) throws ApiError.Refusal {
        JsonNode content = m.raw("content");
        if (content == null) return null;
        if (content.isTextual()) return content.textValue();
        if (!content.isArray())
            throw ApiError.invalid(m.name("content"), "'" + m.name("content") + "' must be a string or an array of text parts, got "
                    + JsonFields.kind(content)).refusal();
        StringBuilder text = new StringBuilder();
        List<JsonFields> parts = m.objects("content");
        for (JsonFields part : parts) {
            String type = part.requiredString("type");
            if (!type.equals("text"))
                throw ApiError.invalid(part.name("type"), "only text content parts are supported (gpt-oss reads text), got '" + type + "'").refusal();
            text.append(part.requiredString("text"));
        }
        return text.toString();
    }
}
