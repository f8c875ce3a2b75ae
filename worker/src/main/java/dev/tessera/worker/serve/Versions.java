package dev.tessera.worker.serve;

/** The worker software's version, as WorkerInfo.version reports it. */
final class Versions {

    private Versions() {}

    /** The jar's Implementation-Version when packaged with one, else the project's version. */
    static final String WORKER = versionOr("0.1.0-SNAPSHOT");

    private static String versionOr(String fallback) {
        String v = Versions.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? fallback : v;
    }
}
