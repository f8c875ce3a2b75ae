package dev.tessera.coordinator.harmony;

import static dev.tessera.coordinator.text.HarmonyTokens.CALL;
import static dev.tessera.coordinator.text.HarmonyTokens.CHANNEL;
import static dev.tessera.coordinator.text.HarmonyTokens.CONSTRAIN;
import static dev.tessera.coordinator.text.HarmonyTokens.END;
import static dev.tessera.coordinator.text.HarmonyTokens.ENDOFPROMPT;
import static dev.tessera.coordinator.text.HarmonyTokens.ENDOFTEXT;
import static dev.tessera.coordinator.text.HarmonyTokens.MESSAGE;
import static dev.tessera.coordinator.text.HarmonyTokens.RETURN;
import static dev.tessera.coordinator.text.HarmonyTokens.START;

import dev.tessera.coordinator.harmony.HarmonyDelta.Content;
import dev.tessera.coordinator.harmony.HarmonyDelta.Reasoning;
import dev.tessera.coordinator.harmony.HarmonyDelta.ToolCallArguments;
import dev.tessera.coordinator.harmony.HarmonyDelta.ToolCallStart;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.TextDecoder;
import dev.tessera.coordinator.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Parses gpt-oss output, token by token, into {@link HarmonyDelta}s: reasoning, user-visible content and tool calls.
 *
 * <p>The stream is what the model writes after a prompt that ended with {@code <|start|>assistant}: a header
 * ({@code <|channel|>analysis}, or {@code <|channel|>commentary to=functions.X <|constrain|>json}, ...) up to
 * {@code <|message|>}, then content up to {@code <|end|>}, {@code <|return|>}, {@code <|call|>},
 * {@code <|endoftext|>} or {@code <|endofprompt|>}; {@code <|start|>} begins the next message, whose header names
 * its author again. See {@link MessageHeader} for where the recipient may stand.
 *
 * <p>A message's content goes to: a tool call when the assistant addresses a recipient other than "all"
 * ({@code functions.X} is the function X; any other recipient is the call's name as given), whatever its channel;
 * otherwise {@link Reasoning} for the analysis channel and {@link Content} for everything else (final, commentary
 * without a recipient, a missing or unknown channel, another author).
 *
 * <p>NOTE: malformed output never throws and loses no ordinary text; it surfaces as {@link Content}:
 * <ul>
 *   <li>text where a header should be that never reaches {@code <|message|>} (text before any header, a header cut
 *       off by an end token or by the end of the stream) comes out less what reads as header fields
 *       ({@link MessageHeader#leftover()}); so a stream that ends right after {@code <|start|>assistant} adds
 *       nothing;</li>
 *   <li>a header longer than {@value #MAX_HEADER_TOKENS} tokens is given up the same way, and the text after it is
 *       content: a model writing plain text with no header at all is streamed after that delay, not held to the
 *       end;</li>
 *   <li>text after an end token without a {@code <|start|>} (content after {@code <|return|>}, say) is content;
 *       a {@code <|channel|>} there begins an assistant header, as if {@code <|start|>assistant} had been
 *       written;</li>
 *   <li>a special token where it has no meaning ({@code <|message|>} inside content, reserved ids) is dropped, and
 *       ids outside the vocabulary are ignored. Special tokens never appear as text.</li>
 * </ul>
 *
 * <p>Text is decoded incrementally, so a delta never ends inside a UTF-8 character; bytes still held when a message
 * ends become U+FFFD. Not thread-safe: one parser per stream.
 */
public final class HarmonyParser {

    /** The longest header, in tokens, before the parser stops waiting for {@code <|message|>}. */
    static final int MAX_HEADER_TOKENS = 64;

    private enum State { HEADER, CONTENT, BETWEEN }

    private enum Kind { REASONING, CONTENT, TOOL_CALL }

    private final Tokenizer tokenizer;
    private final Supplier<String> toolCallIds;
    private final TextDecoder contentDecoder;
    private final TextDecoder headerDecoder;
    private State state;
    private MessageHeader header;
    private Kind kind = Kind.CONTENT;
    private int toolCallIndex = -1;
    private boolean sawToolCall;
    /** The start of a continued call, emitted with the first result. */
    private ToolCallStart pendingStart;

    /**
     * A parser for the model's output after a prompt ending in {@code <|start|>assistant}.
     *
     * @param toolCallIds gives each new tool call its id; called once per call
     */
    public HarmonyParser(Tokenizer tokenizer, Supplier<String> toolCallIds) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.toolCallIds = Objects.requireNonNull(toolCallIds, "toolCallIds");
        this.contentDecoder = new TextDecoder(tokenizer, TextDecoder.Specials.SKIP);
        this.headerDecoder = new TextDecoder(tokenizer, TextDecoder.Specials.SKIP);
        this.state = State.HEADER;
        this.header = new MessageHeader(true);
    }

    /**
     * A parser for the output after a prompt that ended in a forced call's header ({@code ...to=functions.NAME
     * <|constrain|>json<|message|>}): the stream starts inside the arguments of call 0, whose
     * {@link ToolCallStart} comes first in the first result of {@link #push} or {@link #finish}.
     */
    public static HarmonyParser continuingToolCall(Tokenizer tokenizer, Supplier<String> toolCallIds,
                                                   String functionName) {
        FunctionTool.checkName(functionName, "forced function");
        HarmonyParser parser = new HarmonyParser(tokenizer, toolCallIds);
        parser.state = State.CONTENT;
        parser.header = null;
        parser.pendingStart = parser.startToolCall(functionName);
        return parser;
    }

    /** Whether the output has begun a tool call (from the start, for {@link #continuingToolCall}). */
    public boolean sawToolCall() {
        return sawToolCall;
    }

    /**
     * Consumes the next generated id and returns the deltas it completes (often none) in a new list the caller may
     * keep. Never throws: ids outside the vocabulary are ignored.
     */
    public List<HarmonyDelta> push(int tokenId) {
        List<HarmonyDelta> out = new ArrayList<>(2);
        takePendingStart(out);
        if (tokenId < 0 || tokenId >= tokenizer.vocabSize()) return out;
        if (HarmonyTokens.isSpecial(tokenId)) special(tokenId, out);
        else ordinary(tokenId, out);
        return out;
    }

    /**
     * Ends the stream: releases held text (an unfinished header's leftover, an incomplete character as U+FFFD).
     * The parser is then between messages; later pushes are parsed as more output.
     */
    public List<HarmonyDelta> finish() {
        List<HarmonyDelta> out = new ArrayList<>(1);
        takePendingStart(out);
        switch (state) {
            case HEADER -> abandonHeader(out, State.BETWEEN);
            case CONTENT -> endMessage(out);
            case BETWEEN -> { }
        }
        return out;
    }

    private void ordinary(int id, List<HarmonyDelta> out) {
        switch (state) {
            case HEADER -> {
                header.append(headerDecoder.push(id));
                // NOTE: give up only on a character boundary, so no character is split between the two decoders.
                if (header.countToken() > MAX_HEADER_TOKENS && headerDecoder.pendingBytes() == 0)
                    abandonHeader(out, State.CONTENT);
            }
            case CONTENT -> emit(out, contentDecoder.push(id));
            case BETWEEN -> {
                state = State.CONTENT;
                kind = Kind.CONTENT;
                emit(out, contentDecoder.push(id));
            }
        }
    }

    private void special(int id, List<HarmonyDelta> out) {
        boolean ends = id == END || id == RETURN || id == CALL || id == ENDOFTEXT || id == ENDOFPROMPT;
        switch (state) {
            case HEADER -> {
                if (id == MESSAGE) {
                    beginContent(out);
                } else if (id == CHANNEL || id == CONSTRAIN) {
                    header.append(headerDecoder.flush());
                    header.marker(id);
                    header.countToken();
                } else if (id == START) {
                    abandonHeader(out, State.BETWEEN);
                    beginHeader(false);
                } else if (ends) {
                    abandonHeader(out, State.BETWEEN);
                }
            }
            case CONTENT -> {
                if (id == START) {
                    endMessage(out);
                    beginHeader(false);
                } else if (ends) {
                    endMessage(out);
                }
            }
            case BETWEEN -> {
                if (id == START) {
                    beginHeader(false);
                } else if (id == CHANNEL) {
                    beginHeader(true);
                    header.marker(CHANNEL);
                }
            }
        }
    }

    private void beginHeader(boolean impliedAuthor) {
        state = State.HEADER;
        header = new MessageHeader(impliedAuthor);
    }

    /** The header is complete ({@code <|message|>}): decide where the content goes. */
    private void beginContent(List<HarmonyDelta> out) {
        header.append(headerDecoder.flush());
        MessageHeader.Fields fields = header.fields();
        header = null;
        state = State.CONTENT;
        String recipient = fields.recipient();
        if (fields.fromAssistant() && recipient != null && !recipient.isEmpty() && !recipient.equals("all")) {
            String name = recipient.startsWith("functions.") ? recipient.substring("functions.".length()) : recipient;
            out.add(startToolCall(name.isEmpty() ? recipient : name));
        } else {
            kind = "analysis".equals(fields.channel()) ? Kind.REASONING : Kind.CONTENT;
        }
    }

    private ToolCallStart startToolCall(String name) {
        kind = Kind.TOOL_CALL;
        toolCallIndex++;
        sawToolCall = true;
        String id = toolCallIds.get();
        // NOTE: a supplier that returns null still yields a usable, unique id rather than an exception mid-stream.
        return new ToolCallStart(toolCallIndex, id != null ? id : "call_" + toolCallIndex, name);
    }

    /** Surfaces an unfinished header's leftover text as content and moves to {@code next}. */
    private void abandonHeader(List<HarmonyDelta> out, State next) {
        header.append(headerDecoder.flush());
        String leftover = header.leftover();
        header = null;
        kind = Kind.CONTENT;
        emit(out, leftover);
        state = next;
    }

    private void endMessage(List<HarmonyDelta> out) {
        emit(out, contentDecoder.flush());
        state = State.BETWEEN;
    }

    private void emit(List<HarmonyDelta> out, String text) {
        if (text.isEmpty()) return;
        out.add(switch (kind) {
            case REASONING -> new Reasoning(text);
            case CONTENT -> new Content(text);
            case TOOL_CALL -> new ToolCallArguments(toolCallIndex, text);
        });
    }

    private void takePendingStart(List<HarmonyDelta> out) {
        if (pendingStart == null) return;
        out.add(pendingStart);
        pendingStart = null;
    }
}
