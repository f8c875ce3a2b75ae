package dev.tessera.coordinator.openai;

import java.util.List;

/**
 * How the OpenAI-compatible HTTP gateway runs.
 *
 * @param host         address it binds
 * @param port         its port (0: any free port; 8000 by default, as vLLM's)
 * @param apiKeys      bearer tokens accepted on /v1/*; empty: no authentication (a trusted network)
 * @param maxBodyBytes largest request body; larger ones get 413
 */
public record GatewayConfig(String host, int port, List<String> apiKeys, int maxBodyBytes) {

    public static final int DEFAULT_PORT = 8000;
    public static final int DEFAULT_MAX_BODY_BYTES = 32 << 20;

    public GatewayConfig {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host must be set");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("HTTP port must be 0..65535, got " + port);
        apiKeys = List.copyOf(apiKeys);
        for (String k : apiKeys)
            if (k.isBlank() || k.chars().anyMatch(c -> c <= ' '))
                throw new IllegalArgumentException("an API key must be non-empty and without spaces or control characters");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("maxBodyBytes must be >= 1024, got " + maxBodyBytes);
    }

    public static GatewayConfig of(String host, int port) {
        return new GatewayConfig(host, port, List.of(), DEFAULT_MAX_BODY_BYTES);
    }

    public GatewayConfig withApiKeys(List<String> keys) {
        return new GatewayConfig(host, port, keys, maxBodyBytes);
    }
}
