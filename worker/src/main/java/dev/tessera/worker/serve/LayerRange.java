package dev.tessera.worker.serve;

/**
 * The contiguous, half-open range of layers {@code [first, last)} that a worker holds.
 *
 * @param first first layer, inclusive, 0-based
 * @param last  end of the range, exclusive; greater than {@code first}
 */
public record LayerRange(int first, int last) {

    public LayerRange {
        if (first < 0 || last <= first)
            throw new IllegalArgumentException("layer range [" + first + ", " + last + ") is empty or negative");
    }

    /**
     * Parses {@code "first:last"} (the command line's form) or {@code "first,last"} (the form stored in ZooKeeper at
     * {@code ZkLayout.layerConfigPath}).
     */
    public static LayerRange parse(String text) {
        String[] parts = text == null ? new String[0] : text.trim().split("[:,]");
        if (parts.length != 2)
            throw new IllegalArgumentException("layer range \"" + text + "\" is not of the form first:last (e.g. 0:18)");
        try {
            return new LayerRange(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("layer range \"" + text + "\" is not two integers first:last (e.g. 0:18)");
        }
    }

    public int count() { return last - first; }

    @Override
    public String toString() { return "[" + first + "," + last + ")"; }
}
