package dev.tessera.coordinator.text;

import java.util.List;
import java.util.Objects;

/**
 * Stop-string matching over the text pieces of one stream.
 *
 * <p>{@link #offer(String)} returns the text that is safe to emit now. A suffix that could be the beginning of a
 * stop string is held back until later pieces settle it, so a match that spans piece boundaries is still found and
 * no part of a stop string is ever emitted. When a stop string matches, the result carries the text before the
 * match (never the match itself or anything after it) and which stop string matched; the stream is then finished.
 * When the stream ends without a match, {@link #flush()} releases the held text.
 *
 * <p>NOTE: if several stop strings match, the one whose match completes earliest in the text wins, and of those
 * ending at the same place the one that starts earliest (the longest). That is the match a generator stopping as
 * soon as any stop string appears would see first, and it does not depend on how the text was cut into pieces. So
 * with stops {@code "baa"} and {@code "a"}, the text {@code "baa"} stops at {@code "a"} and yields {@code "b"}.
 * Matching is exact, on UTF-16 chars, with no normalisation.
 *
 * <p>Cost: each offer searches the held text plus the piece, so it is linear in the piece length times the number
 * of stop strings, plus the square of the longest stop string. Not thread-safe: one instance per stream.
 */
public final class StopStrings {

    /**
     * What an offer produced.
     *
     * @param text the text safe to emit now ("" if all of it is held back or the stop string starts at once)
     * @param stop the stop string that matched, or null when none did
     */
    public record Result(String text, String stop) {
        public Result {
            Objects.requireNonNull(text, "text");
        }

        /** Whether a stop string matched; the stream must end after emitting {@link #text()}. */
        public boolean stopped() {
            return stop != null;
        }
    }

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    /**
     * @param stops the request's stop strings, possibly none
     * @throws IllegalArgumentException if a stop string is empty
     */
    public StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
        for (int i = 0; i < this.stops.size(); i++) {
            if (this.stops.get(i).isEmpty())
                throw new IllegalArgumentException("stop string " + i + " is empty; every stop string needs at least"
                        + " one character");
        }
    }

    /**
     * Adds the next piece of the stream.
     *
     * @throws IllegalStateException if a stop string already matched
     */
    public Result offer(String piece) {
        Objects.requireNonNull(piece, "piece");
        if (stopped) throw new IllegalStateException("a stop string already matched; the stream is finished");
        held.append(piece);
        int matchAt = -1;
        int matchEnd = -1;
        String match = null;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at < 0) continue;
            int end = at + stop.length();
            if (match == null || end < matchEnd || (end == matchEnd && at < matchAt)) {
                matchAt = at;
                matchEnd = end;
                match = stop;
            }
        }
        if (match != null) {
            stopped = true;
            String text = held.substring(0, matchAt);
            held.setLength(0);
            return new Result(text, match);
        }
        int keep = longestPartialMatch();
        String text = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return new Result(text, null);
    }

    /** Releases the held text at the end of a stream without a match; "" after a match. */
    public String flush() {
        String text = held.toString();
        held.setLength(0);
        return text;
    }

    /** Whether a stop string has matched. */
    public boolean stopped() {
        return stopped;
    }

    /** The length of the longest suffix of the held text that is a proper prefix of some stop string. */
    private int longestPartialMatch() {
        int best = 0;
        for (String stop : stops) {
            for (int len = Math.min(held.length(), stop.length() - 1); len > best; len--) {
                if (endsWith(held, stop, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }

    private static boolean endsWith(StringBuilder text, String stop, int len) {
        int offset = text.length() - len;
        for (int i = 0; i < len; i++) {
            if (text.charAt(offset + i) != stop.charAt(i)) return false;
        }
        return true;
    }
}
