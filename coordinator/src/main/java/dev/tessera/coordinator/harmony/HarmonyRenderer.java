package dev.tessera.coordinator.harmony;

import static dev.tessera.coordinator.text.HarmonyTokens.CALL;
import static dev.tessera.coordinator.text.HarmonyTokens.CHANNEL;
import static dev.tessera.coordinator.text.HarmonyTokens.CONSTRAIN;
import static dev.tessera.coordinator.text.HarmonyTokens.END;
import static dev.tessera.coordinator.text.HarmonyTokens.MESSAGE;
import static dev.tessera.coordinator.text.HarmonyTokens.START;

import dev.tessera.coordinator.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Renders an OpenAI chat conversation as a gpt-oss prompt in the harmony format, ready for completion: the prompt
 * ends with {@code <|start|>assistant}, or with a forced function call's header.
 *
 * <p>Layout, following harmony's renderer (not the Hugging Face chat template):
 * <ol>
 *   <li>Always a system message: the model identity, "Knowledge cutoff: 2024-06", the "Reasoning: ..." line and the
 *       "# Valid channels" line, which gains "Calls to these tools must go to the commentary channel: 'functions'."
 *       when the request has tools. There is no "Current date" line.</li>
 *   <li>A developer message, right after the system message, where harmony puts it: "# Instructions" with the text
 *       of every OpenAI system and developer message (joined by a blank line, in order), then the "# Tools"
 *       section ({@link FunctionsNamespace}). There is none when there are neither instructions nor tools.</li>
 *   <li>The conversation: user messages; an assistant message as its reasoning (analysis channel), its content (final
 *       channel) and each tool call (commentary channel, {@code to=functions.NAME <|constrain|>json}, ending with
 *       {@code <|call|>}); tool results as {@code functions.NAME to=assistant} on the commentary channel. A final
 *       answer in history ends with {@code <|end|>}, never {@code <|return|>}.</li>
 * </ol>
 *
 * <p>NOTE: OpenAI system and developer messages are hoisted into the one developer message wherever they appear in
 * the conversation, because harmony has a single developer message at the top; their position among the other
 * messages is lost, their order is kept.
 *
 * <p>NOTE: analysis is dropped once a later final answer exists in the history (harmony's auto-drop), so the
 * reasoning of finished turns is not fed back, while the reasoning of a tool-call chain still in progress (no final
 * answer after it) is kept.
 *
 * <p>NOTE: an assistant message that has both content and tool calls renders its content on the commentary channel
 * (a preamble the model wrote before calling), not as a final answer: that is where the model writes such text, and
 * a final answer there would end the chain and drop its reasoning.
 *
 * <p>Client text (message content, reasoning, arguments) is always encoded as ordinary text: a user who types
 * {@code <|start|>} gets those characters, never the special id. Thread-safe: the renderer holds no state.
 */
public final class HarmonyRenderer {

    static final String MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI.";
    static final String KNOWLEDGE_CUTOFF = "Knowledge cutoff: 2024-06";
    static final String CHANNELS = "# Valid channels: analysis, commentary, final. Channel must be included for every"
            + " message.";
    static final String FUNCTIONS_CHANNEL = "Calls to these tools must go to the commentary channel: 'functions'.";

    private final Tokenizer tokenizer;

    public HarmonyRenderer(Tokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    }

    /** The prompt's token ids, ending with {@code <|start|>assistant} (or with the forced call's header). */
    public int[] render(ChatPrompt prompt) {
        return pieces(prompt).ids(tokenizer);
    }

    /**
     * The same prompt as text, special tokens by name, for logs and tests. {@link Tokenizer#encodeWithSpecials} of
     * it equals {@link #render} unless client text itself spells a special token's name.
     */
    public String renderText(ChatPrompt prompt) {
        return pieces(prompt).text();
    }

    private PromptPieces pieces(ChatPrompt prompt) {
        Objects.requireNonNull(prompt, "prompt");
        PromptPieces out = new PromptPieces();
        boolean hasTools = !prompt.tools().isEmpty();
        message(out, "system", systemText(prompt.effort(), hasTools));
        String developer = developerText(prompt);
        if (!developer.isEmpty()) message(out, "developer", developer);
        for (Block block : withoutStaleAnalysis(conversation(prompt.messages()))) block.write().accept(out);
        out.special(START).text("assistant");
        if (prompt.forcedFunction() != null) {
            callHeader(out, prompt.forcedFunction());
            out.special(MESSAGE);
        }
        return out;
    }

    static String systemText(ReasoningEffort effort, boolean hasTools) {
        return MODEL_IDENTITY + "\n" + KNOWLEDGE_CUTOFF + "\n\nReasoning: " + effort.label() + "\n\n" + CHANNELS
                + (hasTools ? "\n" + FUNCTIONS_CHANNEL : "");
    }

    /** "# Instructions\n\n..." and the tools section joined by a blank line; "" when there is neither. */
    static String developerText(ChatPrompt prompt) {
        List<String> instructions = new ArrayList<>();
        for (ChatMessage m : prompt.messages()) {
            if ((m.role() == Role.SYSTEM || m.role() == Role.DEVELOPER) && !m.text().isEmpty())
                instructions.add(m.text());
        }
        List<String> sections = new ArrayList<>();
        if (!instructions.isEmpty()) sections.add("# Instructions\n\n" + String.join("\n\n", instructions));
        if (!prompt.tools().isEmpty()) sections.add(FunctionsNamespace.section(prompt.tools()));
        return String.join("\n\n", sections);
    }

    /** One rendered harmony message; {@code channel} is null for messages without one. */
    private record Block(String channel, Consumer<PromptPieces> write) {}

    private static List<Block> conversation(List<ChatMessage> messages) {
        List<Block> blocks = new ArrayList<>();
        for (ChatMessage m : messages) {
            switch (m.role()) {
                case SYSTEM, DEVELOPER -> { } // hoisted into the developer message
                case USER -> blocks.add(new Block(null, out -> message(out, "user", m.text())));
                case ASSISTANT -> assistant(m, blocks);
                case TOOL -> blocks.add(new Block("commentary", out -> {
                    out.special(START).text("functions." + m.name()).text(" to=assistant");
                    out.special(CHANNEL).text("commentary").special(MESSAGE).text(m.text()).special(END);
                }));
            }
        }
        return blocks;
    }

    private static void assistant(ChatMessage m, List<Block> blocks) {
        if (m.hasReasoning()) blocks.add(channelMessage("analysis", m.reasoning()));
        boolean calls = !m.toolCalls().isEmpty();
        if (m.content() != null && !(calls && m.content().isEmpty()))
            blocks.add(channelMessage(calls ? "commentary" : "final", m.content()));
        for (ToolCall call : m.toolCalls()) {
            blocks.add(new Block("commentary", out -> {
                out.special(START).text("assistant");
                callHeader(out, call.name());
                out.special(MESSAGE).text(call.arguments()).special(CALL);
            }));
        }
    }

    private static Block channelMessage(String channel, String text) {
        return new Block(channel, out -> out.special(START).text("assistant").special(CHANNEL).text(channel)
                .special(MESSAGE).text(text).special(END));
    }

    /** Drops every analysis message that a later final answer follows. */
    private static List<Block> withoutStaleAnalysis(List<Block> blocks) {
        List<Block> kept = new ArrayList<>(blocks.size());
        boolean laterFinal = false;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            Block block = blocks.get(i);
            if ("final".equals(block.channel())) laterFinal = true;
            if (!("analysis".equals(block.channel()) && laterFinal)) kept.add(block);
        }
        return kept.reversed();
    }

    private static void message(PromptPieces out, String role, String text) {
        out.special(START).text(role).special(MESSAGE).text(text).special(END);
    }

    /** {@code <|channel|>commentary to=functions.NAME <|constrain|>json}, as the model writes a call's header. */
    private static void callHeader(PromptPieces out, String function) {
        out.special(CHANNEL).text("commentary").text(" to=functions." + function).text(" ").special(CONSTRAIN)
                .text("json");
    }
}
