package dev.tessera.coordinator.openai;

/** What the gateway needs of the coordinator's metrics: the Prometheus text, and a count per HTTP response. */
public interface GatewayMetrics {

    /** The Prometheus text exposition (format 0.0.4) of every metric. */
    String scrape();

    /** Counts one HTTP response: {@code route} is a fixed route name (not the raw path), {@code status} its code. */
    void httpRequest(String route, int status);
}
