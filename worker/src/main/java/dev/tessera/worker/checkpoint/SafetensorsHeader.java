package dev.tessera.worker.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, parsed and checked against the size of the data section
 * (gpt-oss.md §3.6). Offsets are relative to the start of the data section.
 *
 * @param metadata the optional {@code __metadata__} map (empty when absent), in file order
 * @param entries  the tensors in header order
 */
record SafetensorsHeader(Map<String, String> metadata, List<Entry> entries) {

    static final String METADATA_KEY = "__metadata__";

    /** One tensor's header entry; {@code [begin, end)} lies inside the data section. */
    record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        long byteSize() { return end - begin; }
    }

    /**
     * Strict JSON for headers and indexes: duplicate keys and trailing tokens are errors, as in the reference
     * implementation, so a file cannot say two things about one tensor.
     */
    static final ObjectMapper STRICT_JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    SafetensorsHeader {
        metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        entries = List.copyOf(entries);
    }

    /** Parses {@code json} (UTF-8, possibly padded with spaces) and checks every entry against {@code dataBytes}. */
    static SafetensorsHeader parse(Path file, byte[] json, long dataBytes) {
        JsonNode root = readJson(file, json, "header");
        if (!root.isObject()) throw new CheckpointException(file, "header is not a JSON object but " + kind(root));

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, value, metadata);
            } else {
                entries.add(readEntry(file, name, value, dataBytes));
            }
        }
        checkOverlaps(file, entries);
        return new SafetensorsHeader(metadata, entries);
    }

    /** Reads strict JSON, turning a syntax error (or a duplicate key) into a CheckpointException naming {@code what}. */
    static JsonNode readJson(Path file, byte[] json, String what) {
        try {
            JsonNode root = STRICT_JSON.readTree(json);
            if (root == null || root.isMissingNode()) throw new CheckpointException(file, what + " is empty");
            return root;
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file, what + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.io.IOException e) {
            throw new CheckpointException(file, "cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    private static void readMetadata(Path file, JsonNode value, Map<String, String> metadata) {
        if (!value.isObject()) throw new CheckpointException(file, METADATA_KEY + " is not a JSON object but " + kind(value));
        for (Map.Entry<String, JsonNode> m : value.properties()) {
            if (!m.getValue().isTextual())
                throw new CheckpointException(file, METADATA_KEY + " value for '" + m.getKey() + "' is not a string");
            metadata.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static Entry readEntry(Path file, String name, JsonNode value, long dataBytes) {
        if (!value.isObject()) throw new CheckpointException(file, name, "has a header entry that is not a JSON object");
        JsonNode dtypeNode = required(file, name, value, "dtype");
        if (!dtypeNode.isTextual()) throw new CheckpointException(file, name, "has a dtype that is not a string: " + dtypeNode);
        DType dtype = DType.parse(dtypeNode.textValue());
        if (dtype == null) throw new CheckpointException(file, name, "has unknown dtype '" + dtypeNode.textValue() + "'");

        long[] shape = longs(file, name, required(file, name, value, "shape"), "shape", -1);
        long[] offsets = longs(file, name, required(file, name, value, "data_offsets"), "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        String range = Arrays.toString(offsets);
        if (begin > end) throw new CheckpointException(file, name, "has data_offsets " + range + " with begin > end");
        if (end > dataBytes)
            throw new CheckpointException(file, name, "has data_offsets " + range + " beyond the end of the data section ("
                    + dataBytes + " bytes): the file is truncated or the offsets are wrong");

        long expected;
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            expected = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw new CheckpointException(file, name, "has a shape " + Arrays.toString(shape) + " too large to address");
        }
        if (end - begin != expected)
            throw new CheckpointException(file, name, "has data_offsets " + range + " (" + (end - begin) + " bytes) but "
                    + dtype + Arrays.toString(shape) + " needs " + expected + " bytes");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static JsonNode required(Path file, String name, JsonNode entry, String key) {
        JsonNode v = entry.get(key);
        if (v == null || v.isNull()) throw new CheckpointException(file, name, "has no '" + key + "' in its header entry");
        return v;
    }

    /** A JSON array of non-negative integers; {@code length} -1 means any length. */
    private static long[] longs(Path file, String name, JsonNode node, String key, int length) {
        if (!node.isArray() || (length >= 0 && node.size() != length))
            throw new CheckpointException(file, name, "has a '" + key + "' that is not "
                    + (length >= 0 ? "an array of " + length + " integers" : "an array of integers") + ": " + node);
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0)
                throw new CheckpointException(file, name, "has a '" + key + "' with an entry that is not a non-negative integer: " + node);
            out[i] = v.longValue();
        }
        return out;
    }

    /** Two tensors may not share bytes; empty tensors share nothing. */
    private static void checkOverlaps(Path file, List<Entry> entries) {
        List<Entry> byBegin = new ArrayList<>(entries);
        byBegin.removeIf(e -> e.byteSize() == 0);
        byBegin.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < byBegin.size(); i++) {
            Entry prev = byBegin.get(i - 1), next = byBegin.get(i);
            if (next.begin() < prev.end())
                throw new CheckpointException(file, next.name(), "has data_offsets [" + next.begin() + ", " + next.end()
                        + "] overlapping those of " + prev.name() + " [" + prev.begin() + ", " + prev.end() + "]");
        }
        // NOTE: gaps between tensors are tolerated (the reference rejects them); they waste bytes but harm no reader.
    }

    private static String kind(JsonNode node) {
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
