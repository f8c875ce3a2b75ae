package dev.tessera.client.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Prompts and output lengths from a dataset in the ShareGPT conversation layout: each record is
 * {@code {"conversations": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}, ...]}}, one per line
 * (JSONL) or all in one JSON array (the original ShareGPT file). The prompt is the first human turn; the output
 * length is the o200k token count of the reply that follows it, as vLLM's benchmark does.
 *
 * <p>NOTE: conversations whose prompt or reply is shorter than 4 tokens, or whose prompt is longer than
 * {@code maxPromptTokens}, are skipped, as such outliers distort latency figures; the rest are shuffled with the
 * run's seed and then cycled.
 */
public final class ShareGptWorkload implements Workload {

    private record Entry(String prompt, int promptTokens, int outputTokens) {}

    private final List<Entry> entries;
    private final Path file;
    private final int maxOutputTokens;

    private ShareGptWorkload(List<Entry> entries, Path file, int maxOutputTokens) {
        this.entries = entries;
        this.file = file;
        this.maxOutputTokens = maxOutputTokens;
    }

    /** Reads the dataset; {@code maxOutputTokens} caps each request's output (0: none). */
    public static ShareGptWorkload load(Path file, long seed, int maxPromptTokens, int maxOutputTokens) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> records = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            r.mark(1 << 16);
            int first;
            do first = r.read(); while (first != -1 && Character.isWhitespace(first));
            r.reset();
            if (first == '[') {
                json.readTree(r).forEach(records::add);
            } else {
                int line = 0;
                for (String s; (s = r.readLine()) != null; ) {
                    line++;
                    if (s.isBlank()) continue;
                    try {
                        records.add(json.readTree(s));
                    } catch (IOException e) {
                        throw new IOException(file + " line " + line + " is not JSON: " + e.getMessage(), e);
                    }
                }
            }
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode rec : records) {
            JsonNode turns = rec.path("conversations");
            if (!turns.isArray() || turns.size() < 2) continue;
            String prompt = turns.get(0).path("value").asText(""), reply = turns.get(1).path("value").asText("");
            if (!isHuman(turns.get(0).path("from").asText())) continue;
            int p = PromptTokens.count(prompt), o = PromptTokens.count(reply);
            if (p < 4 || o < 4 || (maxPromptTokens > 0 && p > maxPromptTokens)) continue;
            entries.add(new Entry(prompt, p, o));
        }
        if (entries.isEmpty())
            throw new IOException(file + " has no usable conversation (a human turn then a reply, each of 4 tokens or more)");
        Collections.shuffle(entries, new Random(seed));
        return new ShareGptWorkload(List.copyOf(entries), file, maxOutputTokens);
    }

    private static boolean isHuman(String from) { return from.equals("human") || from.equals("user"); }

    public int size() { return entries.size(); }

    @Override
    public LoadRequest next(int index, Random random) {
        Entry e = entries.get(index % entries.size());
        int output = maxOutputTokens > 0 ? Math.min(e.outputTokens(), maxOutputTokens) : e.outputTokens();
        return new LoadRequest(index, null, e.prompt(), e.promptTokens(), output);
    }

    @Override
    public String describe() {
        double prompt = entries.stream().mapToInt(Entry::promptTokens).average().orElse(0);
        double output = entries.stream().mapToInt(Entry::outputTokens).average().orElse(0);
        return String.format(java.util.Locale.ROOT, "ShareGPT dataset %s (%d conversations, mean prompt %.0f tokens, mean output %.0f tokens%s)",
                file.getFileName(), entries.size(), prompt, output, maxOutputTokens > 0 ? ", output capped at " + maxOutputTokens : "");
    }
}
