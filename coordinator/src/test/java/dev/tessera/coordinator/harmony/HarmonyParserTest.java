package dev.tessera.coordinator.harmony;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.harmony.HarmonyDelta.Content;
import dev.tessera.coordinator.harmony.HarmonyDelta.Reasoning;
import dev.tessera.coordinator.harmony.HarmonyDelta.ToolCallArguments;
import dev.tessera.coordinator.harmony.HarmonyDelta.ToolCallStart;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class HarmonyParserTest {

    private final Tokenizer tokenizer = Tokenizer.shared();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Supplier<String> ids = () -> "call_" + nextId.getAndIncrement();

    private HarmonyParser parser() {
        return new HarmonyParser(tokenizer, ids);
    }

    /** Pushes every id one at a time, then finishes. */
    private static List<HarmonyDelta> parse(HarmonyParser parser, int[] tokenIds) {
        List<HarmonyDelta> out = new ArrayList<>();
        for (int id : tokenIds) out.addAll(parser.push(id));
        out.addAll(parser.finish());
        return out;
    }

    private List<HarmonyDelta> parse(String completion) {
        return parse(parser(), tokenizer.encodeWithSpecials(completion));
    }

    private static String reasoning(List<HarmonyDelta> deltas) {
        StringBuilder out = new StringBuilder();
        for (HarmonyDelta d : deltas) if (d instanceof Reasoning r) out.append(r.text());
        return out.toString();
    }

    private static String content(List<HarmonyDelta> deltas) {
        StringBuilder out = new StringBuilder();
        for (HarmonyDelta d : deltas) if (d instanceof Content c) out.append(c.text());
        return out.toString();
    }

    private static String arguments(List<HarmonyDelta> deltas, int index) {
        StringBuilder out = new StringBuilder();
        for (HarmonyDelta d : deltas) if (d instanceof ToolCallArguments a && a.index() == index) out.append(a.text());
        return out.toString();
    }

    private static List<ToolCallStart> starts(List<HarmonyDelta> deltas) {
        return deltas.stream().filter(ToolCallStart.class::isInstance).map(ToolCallStart.class::cast).toList();
    }

    /** gpt-oss.md §4.7: the harmony guide's completion, its published ids, parsed token by token. */
    @Test
    void publishedCompletionParsesIntoReasoningAndContent() {
        String completion = "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic. Provide"
                + " answer.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";
        int[] published = {200005, 35644, 200008, 1844, 31064, 25, 392, 4827, 382, 220, 17, 659, 220, 17, 16842,
                12295, 81645, 13, 51441, 6052, 13, 200007, 200006, 173781, 200005, 17196, 200008, 17, 659, 220, 17,
                314, 220, 19, 13, 200002};
        assertArrayEquals(published, tokenizer.encodeWithSpecials(completion));

        HarmonyParser parser = parser();
        List<HarmonyDelta> deltas = parse(parser, published);
        assertEquals("User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer.", reasoning(deltas));
        assertEquals("2 + 2 = 4.", content(deltas));
        assertFalse(parser.sawToolCall());
        int lastReasoning = -1;
        int firstContent = Integer.MAX_VALUE;
        for (int i = 0; i < deltas.size(); i++) {
            if (deltas.get(i) instanceof Reasoning) lastReasoning = i;
            if (deltas.get(i) instanceof Content) firstContent = Math.min(firstContent, i);
        }
        assertTrue(lastReasoning < firstContent, "reasoning streams before the answer");
        assertTrue(deltas.size() > 5, "text streams in several deltas, not one at the end");
    }

    @Test
    void toolCallWithRecipientAfterChannelStreamsItsArguments() {
        int[] tokens = tokenizer.encodeWithSpecials("<|channel|>analysis<|message|>Need to use function get_weather."
                + "<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
                + "<|message|>{\"location\":\"San Francisco\"}<|call|>");
        HarmonyParser parser = parser();
        List<HarmonyDelta> deltas = new ArrayList<>();
        int startAt = -1;
        for (int i = 0; i < tokens.length; i++) {
            List<HarmonyDelta> step = parser.push(tokens[i]);
            if (step.stream().anyMatch(ToolCallStart.class::isInstance)) startAt = i;
            deltas.addAll(step);
        }
        deltas.addAll(parser.finish());
        assertEquals(HarmonyTokens.MESSAGE, tokens[startAt], "the call starts when its header is complete");
        assertEquals("Need to use function get_weather.", reasoning(deltas));
        assertEquals(List.of(new ToolCallStart(0, "call_1", "get_weather")), starts(deltas));
        assertEquals("{\"location\":\"San Francisco\"}", arguments(deltas, 0));
        assertEquals("", content(deltas));
        assertTrue(parser.sawToolCall());
        assertTrue(deltas.stream().filter(ToolCallArguments.class::isInstance).count() > 1, "arguments stream");
    }

    @Test
    void toolCallWithRecipientBeforeChannel() {
        List<HarmonyDelta> deltas = parse("<|channel|>analysis<|message|>Think.<|end|><|start|>assistant"
                + " to=functions.get_weather<|channel|>commentary json<|message|>{\"location\":\"Oslo\"}<|call|>");
        assertEquals("Think.", reasoning(deltas));
        assertEquals(List.of(new ToolCallStart(0, "call_1", "get_weather")), starts(deltas));
        assertEquals("{\"location\":\"Oslo\"}", arguments(deltas, 0));

        // The first message's author is implied by the prompt, so the recipient can open the output.
        deltas = parse(" to=functions.lookup<|channel|>commentary<|constrain|>json<|message|>{}<|call|>");
        assertEquals(List.of(new ToolCallStart(0, "call_2", "lookup")), starts(deltas));
        assertEquals("{}", arguments(deltas, 0));
    }

    @Test
    void twoToolCallsInOneTurnGetConsecutiveIndicesAndIds() {
        List<HarmonyDelta> deltas = parse("<|channel|>commentary to=functions.a <|constrain|>json<|message|>{\"x\":1}"
                + "<|call|><|start|>assistant<|channel|>commentary to=functions.b <|constrain|>json<|message|>"
                + "{\"y\":2}<|call|>");
        assertEquals(List.of(new ToolCallStart(0, "call_1", "a"), new ToolCallStart(1, "call_2", "b")), starts(deltas));
        assertEquals("{\"x\":1}", arguments(deltas, 0));
        assertEquals("{\"y\":2}", arguments(deltas, 1));
    }

    @Test
    void otherRecipientsAreToolCallsNamedAsGiven() {
        List<HarmonyDelta> deltas = parse("<|channel|>analysis to=browser.search <|constrain|>json<|message|>"
                + "{\"query\":\"x\"}<|call|>");
        assertEquals(List.of(new ToolCallStart(0, "call_1", "browser.search")), starts(deltas));
        assertEquals("", reasoning(deltas));
    }

    @Test
    void commentaryWithoutRecipientIsAPreamble() {
        List<HarmonyDelta> deltas = parse("<|channel|>analysis<|message|>Plan.<|end|><|start|>assistant<|channel|>"
                + "commentary<|message|>**Action plan**: look it up.<|end|><|start|>assistant<|channel|>commentary"
                + " to=functions.generate_file<|constrain|>json<|message|>{\"path\": \"index.html\"}<|call|>");
        assertEquals("Plan.", reasoning(deltas));
        assertEquals("**Action plan**: look it up.", content(deltas));
        assertEquals(List.of(new ToolCallStart(0, "call_1", "generate_file")), starts(deltas));
        assertEquals("{\"path\": \"index.html\"}", arguments(deltas, 0));
        assertInstanceOf(Content.class, deltas.get(deltas.indexOf(starts(deltas).getFirst()) - 1));
    }

    @Test
    void multiByteCharactersSplitAcrossTokensAreNeverCut() {
        String answer = "Grüße 😀🧑‍🚀👍🏽 世界 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";
        int[] tokens = tokenizer.encodeWithSpecials("<|channel|>final<|message|>" + answer + "<|return|>");
        HarmonyParser parser = parser();
        List<HarmonyDelta> deltas = new ArrayList<>();
        int silentTextTokens = 0;
        for (int id : tokens) {
            List<HarmonyDelta> step = parser.push(id);
            if (step.isEmpty() && !HarmonyTokens.isSpecial(id)) silentTextTokens++;
            for (HarmonyDelta d : step) {
                String text = ((Content) d).text();
                assertFalse(text.contains("\uFFFD"), text);
                assertFalse(Character.isHighSurrogate(text.charAt(text.length() - 1)), text);
            }
            deltas.addAll(step);
        }
        deltas.addAll(parser.finish());
        assertEquals(answer, content(deltas));
        assertTrue(silentTextTokens > 0, "some token must end inside a character (and emit nothing)");
    }

    @Test
    void continuingAForcedCallStartsInItsArguments() {
        HarmonyParser parser = HarmonyParser.continuingToolCall(tokenizer, ids, "get_weather");
        assertTrue(parser.sawToolCall());
        int[] tokens = tokenizer.encodeWithSpecials("{\"location\":\"Paris\"}<|call|>");
        List<HarmonyDelta> first = parser.push(tokens[0]);
        assertEquals(new ToolCallStart(0, "call_1", "get_weather"), first.getFirst());
        List<HarmonyDelta> deltas = new ArrayList<>(first);
        for (int i = 1; i < tokens.length; i++) deltas.addAll(parser.push(tokens[i]));
        deltas.addAll(parser.finish());
        assertEquals("{\"location\":\"Paris\"}", arguments(deltas, 0));
        assertEquals(1, starts(deltas).size());

        HarmonyParser empty = HarmonyParser.continuingToolCall(tokenizer, ids, "f");
        assertEquals(List.of(new ToolCallStart(0, "call_2", "f")), empty.finish());
    }

    @Test
    void textBeforeAnyHeaderIsContent() {
        assertEquals("Hello world", content(parse("Hello world<|return|>")));
        assertEquals("Hello world", content(parse("Hello world")));
        assertEquals("\n\nHello", content(parse("\n\nHello")));
    }

    @Test
    void truncatedHeadersLoseNoTextAndAddNone() {
        List<HarmonyDelta> deltas = parse("<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>fin");
        assertEquals(List.of(new Reasoning("x")), deltas);
        assertEquals(List.of(), parse("<|start|>assistant"));
        assertEquals(List.of(), parse("<|channel|>commentary to=functions.get_weather <|constrain|>json"));
        assertEquals("Hello there", content(parse("<|start|>assistant<|channel|>final Hello there<|end|>")));
        assertEquals("Hi", content(parse("<|channel|>final Hi<|start|>assistant<|channel|>final")));
    }

    @Test
    void strayAndOutOfVocabularyIdsAreDropped() {
        HarmonyParser parser = parser();
        assertEquals(List.of(), parser.push(-1));
        assertEquals(List.of(), parser.push(tokenizer.vocabSize()));
        assertEquals(List.of(), parser.push(Integer.MAX_VALUE));
        List<HarmonyDelta> deltas = parse(parser, tokenizer.encodeWithSpecials(
                "<|channel|>final<|message|>a<|message|>b<|reserved_200001|>c<|channel|>d<|constrain|>e<|return|>"));
        assertEquals("abcde", content(deltas));
    }

    @Test
    void contentAfterReturnAndUnknownChannelsAreContent() {
        assertEquals("Done. extra", content(parse("<|channel|>final<|message|>Done.<|return|> extra")));
        assertEquals("odd", content(parse("<|channel|>scratchpad<|message|>odd<|end|>")));
        assertEquals("no channel", content(parse("<|message|>no channel<|end|>")));
        // A channel right after an end token opens an assistant message even without <|start|>.
        List<HarmonyDelta> deltas = parse("<|channel|>analysis<|message|>r<|end|><|channel|>final<|message|>f<|return|>");
        assertEquals("r", reasoning(deltas));
        assertEquals("f", content(deltas));
    }

    @Test
    void hallucinatedToolResultIsNotACall() {
        List<HarmonyDelta> deltas = parse("<|channel|>final<|message|>a<|end|><|start|>functions.get_weather"
                + " to=assistant<|channel|>commentary<|message|>b<|end|>");
        assertEquals(List.of(), starts(deltas));
        assertEquals("ab", content(deltas));
    }

    @Test
    void headerlessOutputStreamsAfterTheHeaderLimit() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) text.append("word").append(i).append(' ');
        int[] tokens = tokenizer.encode(text.toString());
        assertTrue(tokens.length > HarmonyParser.MAX_HEADER_TOKENS + 10);
        HarmonyParser parser = parser();
        List<HarmonyDelta> beforeFinish = new ArrayList<>();
        for (int id : tokens) beforeFinish.addAll(parser.push(id));
        assertFalse(beforeFinish.isEmpty(), "text streams before the end of the stream");
        List<HarmonyDelta> all = new ArrayList<>(beforeFinish);
        all.addAll(parser.finish());
        assertEquals(text.toString(), content(all));
    }

    @Test
    void randomOrdinaryIdsComeBackAsTheirText() {
        Random random = new Random(42);
        for (int run = 0; run < 200; run++) {
            int[] tokens = new int[1 + random.nextInt(150)];
            for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(HarmonyTokens.FIRST_SPECIAL);
            String decoded = tokenizer.decode(tokens);
            if (decoded.stripLeading().startsWith("to=")) continue;
            List<HarmonyDelta> deltas = parse(parser(), tokens);
            assertEquals(decoded, content(deltas), () -> "run " + java.util.Arrays.toString(tokens));
            assertEquals(deltas.size(), deltas.stream().filter(Content.class::isInstance).count());
        }
    }

    @Test
    void randomIdSequencesNeverThrow() {
        Random random = new Random(7);
        int[] structural = {HarmonyTokens.START, HarmonyTokens.END, HarmonyTokens.MESSAGE, HarmonyTokens.CHANNEL,
                HarmonyTokens.CONSTRAIN, HarmonyTokens.RETURN, HarmonyTokens.CALL, HarmonyTokens.ENDOFTEXT,
                HarmonyTokens.ENDOFPROMPT, HarmonyTokens.STARTOFTEXT, 200_000, 201_087, -5, 201_088};
        int[] words = tokenizer.encode(" to=functions.f analysis final commentary assistant json");
        for (int run = 0; run < 500; run++) {
            HarmonyParser parser = random.nextBoolean() ? parser()
                    : HarmonyParser.continuingToolCall(tokenizer, ids, "f");
            int length = random.nextInt(80);
            List<HarmonyDelta> deltas = new ArrayList<>();
            for (int i = 0; i < length; i++) {
                int pick = random.nextInt(10);
                int id = pick < 4 ? structural[random.nextInt(structural.length)]
                        : pick < 7 ? words[random.nextInt(words.length)]
                        : random.nextInt(HarmonyTokens.VOCAB_SIZE);
                deltas.addAll(parser.push(id));
            }
            deltas.addAll(parser.finish());
            int calls = 0;
            for (HarmonyDelta d : deltas) {
                String text = switch (d) {
                    case Content c -> c.text();
                    case Reasoning r -> r.text();
                    case ToolCallArguments a -> a.text();
                    case ToolCallStart s -> {
                        assertEquals(calls++, s.index());
                        yield "";
                    }
                };
                for (String name : new String[] {"<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|call|>"})
                    assertFalse(text.contains(name), text);
            }
        }
    }
}
