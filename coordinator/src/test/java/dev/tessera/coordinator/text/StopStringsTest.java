package dev.tessera.coordinator.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopStringsTest {

    @Test
    void matchSpanningPieces() {
        StopStrings stops = new StopStrings(List.of("bc"));
        StopStrings.Result first = stops.offer("ab");
        assertEquals("a", first.text());
        assertFalse(first.stopped());
        StopStrings.Result second = stops.offer("c");
        assertEquals("", second.text());
        assertTrue(second.stopped());
        assertEquals("bc", second.stop());
        assertTrue(stops.stopped());
    }

    @Test
    void textBeforeTheMatchInTheSamePieceIsReturned() {
        StopStrings stops = new StopStrings(List.of("</answer>"));
        assertEquals("The answer is ", stops.offer("The answer is ").text());
        StopStrings.Result result = stops.offer("42</ans");
        assertEquals("42", result.text());
        assertFalse(result.stopped());
        result = stops.offer("wer> and more");
        assertEquals("", result.text());
        assertEquals("</answer>", result.stop());
        assertEquals("", stops.flush());
    }

    @Test
    void heldPrefixIsReleasedWhenItStopsMatchingOrByFlush() {
        StopStrings stops = new StopStrings(List.of("end"));
        assertEquals("the ", stops.offer("the en").text());
        assertEquals("enter", stops.offer("ter").text());
        assertEquals(" ", stops.offer(" e").text());
        assertEquals("e", stops.flush());
        assertFalse(stops.stopped());
    }

    @Test
    void flushReleasesTheHeldPrefixAtTheEnd() {
        StopStrings stops = new StopStrings(List.of("STOP"));
        StopStrings.Result result = stops.offer("almost ST");
        assertEquals("almost ", result.text());
        assertNull(result.stop());
        assertEquals("ST", stops.flush());
        assertEquals("", stops.flush());
    }

    @Test
    void earliestMatchWinsAmongSeveralStops() {
        StopStrings stops = new StopStrings(List.of("world", "lo w"));
        assertEquals("he", stops.offer("hel").text(), "\"l\" may begin \"lo w\"");
        StopStrings.Result result = stops.offer("lo world");
        assertEquals("l", result.text());
        assertEquals("lo w", result.stop());

        StopStrings other = new StopStrings(List.of("xyz", "b"));
        result = other.offer("abxyz");
        assertEquals("a", result.text());
        assertEquals("b", result.stop());
    }

    @Test
    void matchCompletingFirstWinsOverALongerOneStartingEarlier() {
        StopStrings oneShot = new StopStrings(List.of("baa", "a"));
        StopStrings.Result result = oneShot.offer("cbaa");
        assertEquals("cb", result.text());
        assertEquals("a", result.stop());

        StopStrings streamed = new StopStrings(List.of("baa", "a"));
        assertEquals("c", streamed.offer("cb").text());
        result = streamed.offer("aa");
        assertEquals("b", result.text());
        assertEquals("a", result.stop());

        StopStrings sameEnd = new StopStrings(List.of("c", "abc"));
        result = sameEnd.offer("xabc");
        assertEquals("x", result.text());
        assertEquals("abc", result.stop(), "of matches ending together the longest wins");
    }

    @Test
    void stopAtTheVeryStart() {
        StopStrings stops = new StopStrings(List.of("STOP"));
        StopStrings.Result result = stops.offer("STOP right there");
        assertEquals("", result.text());
        assertEquals("STOP", result.stop());

        StopStrings charByChar = new StopStrings(List.of("STOP"));
        for (char c : "STO".toCharArray()) assertEquals("", charByChar.offer(String.valueOf(c)).text());
        result = charByChar.offer("P");
        assertEquals("", result.text());
        assertTrue(result.stopped());
    }

    @Test
    void selfOverlappingStop() {
        StopStrings stops = new StopStrings(List.of("aab"));
        StringBuilder out = new StringBuilder();
        StopStrings.Result result = null;
        for (String piece : List.of("a", "a", "a", "b")) {
            result = stops.offer(piece);
            out.append(result.text());
        }
        assertEquals("a", out.toString());
        assertEquals("aab", result.stop());
    }

    @Test
    void noStopsPassesEverythingThrough() {
        StopStrings stops = new StopStrings(List.of());
        assertEquals("anything <|end|>", stops.offer("anything <|end|>").text());
        assertEquals("", stops.flush());
    }

    @Test
    void emptyStopRejectedAndOfferAfterStopRefused() {
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> new StopStrings(List.of("ok", "")));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        StopStrings stops = new StopStrings(List.of("x"));
        assertTrue(stops.offer("x").stopped());
        assertThrows(IllegalStateException.class, () -> stops.offer("more"));
    }

    /** Any way of cutting a text into pieces gives what one search of the whole text gives. */
    @Test
    void streamedResultEqualsOneShotSearchForRandomPieces() {
        Random random = new Random(7);
        for (int round = 0; round < 2_000; round++) {
            List<String> stopList = new ArrayList<>();
            for (int s = 1 + random.nextInt(3); s > 0; s--) stopList.add(randomText(random, 1 + random.nextInt(4)));
            String text = randomText(random, random.nextInt(30));

            int expectedAt = -1;
            int expectedEnd = -1;
            for (String stop : stopList) {
                int at = text.indexOf(stop);
                if (at < 0) continue;
                int end = at + stop.length();
                if (expectedAt < 0 || end < expectedEnd || (end == expectedEnd && at < expectedAt)) {
                    expectedAt = at;
                    expectedEnd = end;
                }
            }
            String expected = expectedAt < 0 ? text : text.substring(0, expectedAt);

            StopStrings stops = new StopStrings(stopList);
            StringBuilder out = new StringBuilder();
            boolean stopped = false;
            int offset = 0;
            while (offset < text.length() && !stopped) {
                int end = Math.min(text.length(), offset + random.nextInt(5));
                StopStrings.Result result = stops.offer(text.substring(offset, end));
                out.append(result.text());
                stopped = result.stopped();
                offset = end;
            }
            if (!stopped) out.append(stops.flush());
            String context = "stops " + stopList + " text " + text;
            assertEquals(expected, out.toString(), context);
            assertEquals(expectedAt >= 0, stopped, context);
        }
    }

    private static String randomText(Random random, int length) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < length; i++) text.append((char) ('a' + random.nextInt(3)));
        return text.toString();
    }
}
