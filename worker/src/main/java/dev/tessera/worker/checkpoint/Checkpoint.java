package dev.tessera.worker.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint directory: either {@code model.safetensors.index.json} and the shards its
 * {@code weight_map} names, or a single {@code model.safetensors} (gpt-oss.md §3.1, §3.6).
 *
 * <p>All shards are mapped in one shared arena at {@link #open}, and every tensor the index names is looked up then,
 * so a checkpoint that opens is complete. {@link #close()} unmaps everything; tensors are unusable afterwards.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path directory;
    private final Arena arena;
    private final List<SafetensorsFile> shards;
    private final Map<String, Tensor> tensors;

    private Checkpoint(Path directory, Arena arena, List<SafetensorsFile> shards, Map<String, Tensor> tensors) {
        this.directory = directory;
        this.arena = arena;
        this.shards = shards;
        this.tensors = tensors;
    }

    /**
     * Opens the checkpoint in {@code dir}.
     *
     * <p>NOTE: when both exist, the index wins over {@code model.safetensors}, as in transformers. Shard names are
     * taken from the index and never guessed: the published repositories number shards from zero, the fixture
     * from one.
     */
    public static Checkpoint open(Path dir) {
        Path index = dir.resolve(INDEX_FILE);
        Path single = dir.resolve(SINGLE_FILE);
        if (!Files.isDirectory(dir)) throw new CheckpointException(dir, "is not a directory");
        Arena arena = Arena.ofShared();
        try {
            Checkpoint c = Files.isRegularFile(index) ? openIndexed(dir, index, arena)
                    : Files.isRegularFile(single) ? openSingle(dir, single, arena)
                    : null;
            if (c == null)
                throw new CheckpointException(dir, "no checkpoint: neither " + INDEX_FILE + " nor " + SINGLE_FILE + " exists");
            return c;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Checkpoint openSingle(Path dir, Path file, Arena arena) {
        SafetensorsFile shard = SafetensorsFile.open(file, arena);
        return new Checkpoint(dir, arena, List.of(shard), shard.tensors());
    }

    private static Checkpoint openIndexed(Path dir, Path index, Arena arena) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shardsByName = new LinkedHashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            String name = e.getKey(), shardName = e.getValue();
            SafetensorsFile shard = shardsByName.get(shardName);
            if (shard == null) {
                Path file = shardPath(dir, index, name, shardName);
                shard = SafetensorsFile.open(file, arena);
                shardsByName.put(shardName, shard);
            }
            if (!shard.contains(name))
                throw new CheckpointException(shard.file(), name, "is named by " + index.getFileName()
                        + " but is not in the shard");
            tensors.put(name, shard.tensor(name));
        }
        // NOTE: tensors a shard holds but the index does not name are ignored, as transformers ignores them.
        return new Checkpoint(dir, arena, List.copyOf(shardsByName.values()), Collections.unmodifiableMap(tensors));
    }

    private static Path shardPath(Path dir, Path index, String tensor, String shardName) {
        Path base = dir.toAbsolutePath().normalize();
        Path file = base.resolve(shardName).normalize();
        // NOTE: an index may only name files in its own directory, never "../elsewhere" or an absolute path.
        if (shardName.isEmpty() || !base.equals(file.getParent()))
            throw new CheckpointException(index, tensor, "has shard '" + shardName + "' outside " + dir);
        if (!Files.isRegularFile(file))
            throw new CheckpointException(index, tensor, "is mapped to shard '" + shardName + "', which does not exist in " + dir);
        return file;
    }

    private static Map<String, String> readWeightMap(Path index) {
        byte[] json;
        try {
            json = Files.readAllBytes(index);
        } catch (IOException e) {
            throw new CheckpointException(index, "cannot read: " + e, e);
        }
        JsonNode root = SafetensorsHeader.readJson(index, json, "index");
        JsonNode map = root.path("weight_map");
        if (!root.isObject() || !map.isObject())
            throw new CheckpointException(index, "has no 'weight_map' object");
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual())
                throw new CheckpointException(index, e.getKey(), "has a weight_map entry that is not a file name: " + e.getValue());
            weightMap.put(e.getKey(), e.getValue().textValue());
        }
        if (weightMap.isEmpty()) throw new CheckpointException(index, "has an empty weight_map");
        return weightMap;
    }

    public Path directory() { return directory; }

    /** The shard files, in the order the index first names them. */
    public List<Path> shardFiles() {
        List<Path> files = new ArrayList<>(shards.size());
        for (SafetensorsFile s : shards) files.add(s.file());
        return files;
    }

    /** Every tensor name, in index order (header order for a single file). */
    public Set<String> names() { return Collections.unmodifiableSet(tensors.keySet()); }

    public boolean contains(String name) { return tensors.containsKey(name); }

    /** The named tensor; CheckpointException "missing tensor 'X' in DIR" when the checkpoint has none. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw CheckpointException.missingTensor(directory, name);
        return t;
    }

    /**
     * The named tensor, checked to have {@code dtype} and {@code shape}, which the caller derives from config.json;
     * the message names both shapes, e.g. "q_proj.weight in FILE has shape [256, 128] but config.json implies [512, 128]".
     */
    public Tensor tensor(String name, DType dtype, long... shape) {
        Tensor t = tensor(name);
        if (t.dtype() != dtype)
            throw new CheckpointException(t.file(), name, "has dtype " + t.dtype() + " but config.json implies " + dtype);
        if (!Arrays.equals(t.shape(), shape))
            throw new CheckpointException(t.file(), name, "has shape " + Arrays.toString(t.shape())
                    + " but config.json implies " + Arrays.toString(shape));
        return t;
    }

    /** The bytes of all tensors together (headers not counted): equals the index's {@code metadata.total_size}. */
    public long totalBytes() {
        long sum = 0;
        for (Tensor t : tensors.values()) sum += t.data().byteSize();
        return sum;
    }

    /** Unmaps every shard. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return directory + " (" + tensors.size() + " tensors in " + shards.size() + " files)";
    }
}
