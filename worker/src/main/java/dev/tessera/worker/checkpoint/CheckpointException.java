package dev.tessera.worker.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint that cannot be read as it claims to be: a malformed or truncated safetensors file, a broken index,
 * a missing tensor, or a tensor whose dtype or shape is not what the model config implies.
 *
 * <p>The message always names the file and, where the problem belongs to one tensor, the tensor: either
 * {@code "<tensor> in <file> <problem>"}, {@code "<file>: <problem>"} or {@code "missing tensor '<tensor>' in <dir>"}.
 */
public final class CheckpointException extends RuntimeException {

    private final transient Path file;
    private final String tensor;

    /** A problem with the file as a whole (its header, its index, its size). */
    public CheckpointException(Path file, String problem) {
        this(file, null, problem, null);
    }

    public CheckpointException(Path file, String problem, Throwable cause) {
        this(file, null, problem, cause);
    }

    /** A problem with one tensor of the file; {@code problem} reads on from the tensor, e.g. "has unknown dtype 'F7'". */
    public CheckpointException(Path file, String tensor, String problem) {
        this(file, tensor, problem, null);
    }

    public CheckpointException(Path file, String tensor, String problem, Throwable cause) {
        this(tensor == null ? file + ": " + problem : tensor + " in " + file + " " + problem, file, tensor, cause);
    }

    private CheckpointException(String message, Path file, String tensor, Throwable cause) {
        super(message, cause);
        this.file = file;
        this.tensor = tensor;
    }

    /** "missing tensor 'X' in DIR": a tensor the model needs is in no file of the checkpoint. */
    public static CheckpointException missingTensor(Path directory, String tensor) {
        return new CheckpointException("missing tensor '" + tensor + "' in " + directory, directory, tensor, null);
    }

    /** The file (or, for a missing tensor, the checkpoint directory) the problem was found in. */
    public Path file() { return file; }

    /** The tensor concerned, or null when the problem is not about one tensor. */
    public String tensor() { return tensor; }
}
