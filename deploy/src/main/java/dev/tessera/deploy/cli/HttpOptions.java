package dev.tessera.deploy.cli;

import dev.tessera.coordinator.openai.GatewayConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;

/** The coordinator's OpenAI-compatible HTTP API: its port and its API keys. */
public final class HttpOptions {

    @Option(names = "--http-port", defaultValue = "8000", paramLabel = "PORT",
            description = "Port of the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, "
                    + "/health, /metrics); 0 for any free port, -1 for none. Default: ${DEFAULT-VALUE}.")
    int httpPort;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "An API key the HTTP API accepts as 'Authorization: Bearer KEY' (repeat for several). Keys can "
                    + "also come from the environment variable TESSERA_API_KEYS (comma-separated), which keeps them out "
                    + "of the process list. Without any key the HTTP API is open.")
    List<String> apiKeys = new ArrayList<>();

    /** The gateway's configuration on {@code host}, or null when {@code --http-port -1}. */
    GatewayConfig gateway(String host) {
        if (httpPort < 0) return null;
        List<String> keys = new ArrayList<>(apiKeys);
        String env = System.getenv("TESSERA_API_KEYS");
        if (env != null) Arrays.stream(env.split(",")).map(String::trim).filter(k -> !k.isEmpty()).forEach(keys::add);
        return new GatewayConfig(host, httpPort, keys, GatewayConfig.DEFAULT_MAX_BODY_BYTES);
    }
}
