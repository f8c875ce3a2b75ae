package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.coordinator.harmony.HarmonyDelta;
import dev.tessera.coordinator.harmony.HarmonyParser;
import dev.tessera.coordinator.text.StopStrings;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/chat/completions}: the model's harmony output, parsed token by token, becomes {@code content}
 * (final channel), {@code reasoning_content} (analysis channel) and {@code tool_calls} (commentary channel to
 * {@code functions.*}), streamed as OpenAI's chunk deltas or gathered into one message.
 *
 * <p>NOTE: stop strings apply to the user-visible content only (not to reasoning or tool arguments), since that is
 * the text the client asked to cut; the gateway matches them itself and ends the request when one appears.
 */
final class ChatCompletionCall extends CompletionCall {

    private final HarmonyParser parser;
    private final StopStrings stops;          // null without stop strings
    private final TokenTexts tokens;
    // The gathered message (not streaming).
    private final StringBuilder content = new StringBuilder();
    private final StringBuilder reasoning = new StringBuilder();
    private final List<GatheredCall> toolCalls = new ArrayList<>();
    private final ArrayNode logprobs = JsonNodeFactory.instance.arrayNode();

    ChatCompletionCall(HttpExchange exchange, ChatRequest request, String id, HarmonyParser parser, TokenTexts tokens) {
        super(exchange, request.params(), id);
        this.parser = parser;
        this.stops = request.params().stop().isEmpty() ? null : new StopStrings(request.params().stop());
        this.tokens = tokens;
    }

    /** What one response adds to the message. */
    private final class Delta {
        final StringBuilder content = new StringBuilder();
        final StringBuilder reasoning = new StringBuilder();
        final ArrayNode toolCalls = JsonNodeFactory.instance.arrayNode();
        final ArrayNode logprobs = JsonNodeFactory.instance.arrayNode();
        boolean stopped;

        void add(List<HarmonyDelta> deltas) {
            for (HarmonyDelta d : deltas) {
                if (stopped) return;
                switch (d) {
                    case HarmonyDelta.Content c -> content(c.text());
                    case HarmonyDelta.Reasoning r -> reasoning.append(r.text());
                    case HarmonyDelta.ToolCallStart s -> {
                        ObjectNode call = toolCalls.addObject().put("index", s.index()).put("id", s.id()).put("type", "function");
                        call.putObject("function").put("name", s.name()).put("arguments", "");
                    }
                    case HarmonyDelta.ToolCallArguments a -> arguments(a.index(), a.text());
                }
            }
        }

        private void content(String text) {
            if (stops == null) {
                content.append(text);
                return;
            }
            StopStrings.Result r = stops.offer(text);
            content.append(r.text());
            stopped = r.stopped();
        }

        /** Appends to the last entry when it is the same call's arguments, so a chunk carries one entry per call. */
        private void arguments(int index, String text) {
            ObjectNode last = toolCalls.isEmpty() ? null : (ObjectNode) toolCalls.get(toolCalls.size() - 1);
            if (last == null || last.get("index").intValue() != index) {
                last = toolCalls.addObject().put("index", index);
                last.putObject("function").put("arguments", "");
            }
            ObjectNode fn = (ObjectNode) last.get("function");
            fn.put("arguments", fn.get("arguments").textValue() + text);
        }

        boolean isEmpty() {
            return content.isEmpty() && reasoning.isEmpty() && toolCalls.isEmpty();
        }
    }

    @Override
    protected ObjectNode consume(GenerateResponse r) {
        Delta delta = new Delta();
        for (int i = 0; i < r.getTokenIdsCount() && !delta.stopped; i++) {
            int contentBefore = delta.content.length();
            int id = r.getTokenIds(i);
            delta.add(parser.push(id));
            // NOTE: logprobs follow the tokens that produced visible content, the part of the output a client scores.
            if (params.logprobs() && i < r.getLogprobsCount() && (delta.content.length() > contentBefore || delta.stopped))
                delta.logprobs.add(tokens.chatEntry(id, r.getLogprobs(i)));
        }
        if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED && !delta.stopped) {
            delta.add(parser.finish());
            if (stops != null && !delta.stopped) delta.content.append(stops.flush());
        }
        if (!params.stream()) gather(delta);
        if (delta.stopped) stopHere();
        if (!params.stream() || delta.isEmpty()) return null;
        ObjectNode chunk = chunk(null);
        ObjectNode d = (ObjectNode) chunk.get("choices").get(0).get("delta");
        if (!delta.reasoning.isEmpty()) d.put("reasoning_content", delta.reasoning.toString());
        if (!delta.content.isEmpty()) d.put("content", delta.content.toString());
        if (!delta.toolCalls.isEmpty()) d.set("tool_calls", delta.toolCalls);
        if (!delta.logprobs.isEmpty()) ((ObjectNode) chunk.get("choices").get(0)).putObject("logprobs").set("content", delta.logprobs);
        return chunk;
    }

    private void gather(Delta delta) {
        content.append(delta.content);
        reasoning.append(delta.reasoning);
        logprobs.addAll(delta.logprobs);
        for (var node : delta.toolCalls) {
            ObjectNode part = (ObjectNode) node;
            int index = part.get("index").intValue();
            if (index == toolCalls.size())
                toolCalls.add(new GatheredCall(part.path("id").asText(), part.get("function").path("name").asText(), new StringBuilder()));
            toolCalls.get(index).arguments().append(part.get("function").path("arguments").asText());
        }
    }

    /** A tool call gathered over the whole response; its arguments arrive in pieces. */
    private record GatheredCall(String id, String name, StringBuilder arguments) {
        ObjectNode toJson() {
            ObjectNode call = JsonNodeFactory.instance.objectNode().put("id", id).put("type", "function");
            call.putObject("function").put("name", name).put("arguments", arguments.toString());
            return call;
        }
    }

    private ObjectNode chunk(String finishReason) {
        ObjectNode c = envelope(chunkObject());
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        choice.putObject("delta");
        choice.putNull("logprobs");
        if (finishReason == null) choice.putNull("finish_reason"); else choice.put("finish_reason", finishReason);
        return c;
    }

    @Override
    protected ObjectNode firstChunk() {
        ObjectNode c = chunk(null);
        ((ObjectNode) c.get("choices").get(0).get("delta")).put("role", "assistant").put("content", "");
        return c;
    }

    @Override
    protected String finishReason(FinishReason reason) {
        if (reason == FinishReason.FINISH_REASON_LENGTH) return "length";
        return parser.sawToolCall() ? "tool_calls" : "stop";
    }

    @Override
    protected ObjectNode finishChunk(String finishReason) { return chunk(finishReason); }

    @Override
    protected ObjectNode body(String finishReason, ObjectNode usage) {
        ObjectNode b = envelope("chat.completion");
        ObjectNode choice = b.putArray("choices").addObject().put("index", 0);
        ObjectNode message = choice.putObject("message").put("role", "assistant");
        if (content.isEmpty() && !toolCalls.isEmpty()) message.putNull("content"); else message.put("content", content.toString());
        if (!reasoning.isEmpty()) message.put("reasoning_content", reasoning.toString());
        if (!toolCalls.isEmpty()) {
            ArrayNode calls = message.putArray("tool_calls");
            for (GatheredCall c : toolCalls) calls.add(c.toJson());
        }
        if (params.logprobs()) choice.putObject("logprobs").set("content", logprobs);
        else choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        b.set("usage", usage);
        return b;
    }

    @Override
    protected String chunkObject() { return "chat.completion.chunk"; }
}
