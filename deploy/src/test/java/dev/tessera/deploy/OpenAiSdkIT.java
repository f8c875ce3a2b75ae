package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients nobody here wrote against {@code tessera up} in its own process: the official OpenAI SDK (from the npm
 * registry, run by Node) and curl. The server is the {@code up} command with its defaults (the synthetic demo model
 * over two workers), started from the test classpath as {@code ./tessera up} starts it from the jar, with an API key.
 *
 * <p>Needs {@code node}, {@code npm} and {@code curl} on the PATH and the npm registry reachable; fails, saying so,
 * when they are missing.
 */
class OpenAiSdkIT {

    private static final String KEY = "tessera-test-key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Process up;
    private static final StringBuffer upOutput = new StringBuffer();
    private static int httpPort;
    private static Thread reader;

    @TempDir
    static Path home;

    @BeforeAll
    static void startUp() throws Exception {
        for (String tool : List.of("node", "npm", "curl"))
            assertEquals(0, new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor(),
                    tool + " is not on the PATH; this test drives the server with the official OpenAI SDK on Node and with curl");
        int grpcPort = freePort(), zkPort = freePort();
        httpPort = freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "dev.tessera.deploy.TesseraMain", "up", "--port", "" + grpcPort, "--zk-port", "" + zkPort,
                "--http-port", "" + httpPort).redirectErrorStream(true);
        pb.environment().put("TESSERA_HOME", home.toString());
        pb.environment().put("TESSERA_API_KEYS", KEY);
        up = pb.start();
        CountDownLatch ready = new CountDownLatch(1);
        reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    upOutput.append(line).append('\n');
                    if (line.startsWith("tessera ready")) ready.countDown();
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        assertTrue(ready.await(240, TimeUnit.SECONDS) && up.isAlive(), "tessera up did not get ready:\n" + upOutput);
        assertTrue(upOutput.toString().contains("OpenAI API on http://127.0.0.1:" + httpPort + "/v1"), upOutput.toString());
    }

    @AfterAll
    static void stopUp() throws Exception {
        if (up == null) return;
        // SIGTERM, through the handle: Process.destroy() would also close our end of its output, losing the last lines.
        up.toHandle().destroy();
        boolean exited = up.waitFor(60, TimeUnit.SECONDS);
        if (!exited) up.destroyForcibly().waitFor();
        reader.join(10_000); // the last lines are read after the process has gone
        assertTrue(exited && upOutput.toString().contains("tessera: stopped"), "tessera up did not stop cleanly (exited "
                + exited + ", status " + up.exitValue() + "):\n" + upOutput);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    record Result(int exit, String output) {}

    /** Runs a command with its output in a file, so the timeout holds even when the command never ends. */
    private static Result exec(Path dir, int timeoutSeconds, String... command) throws Exception {
        Path log = Files.createTempFile(dir, "exec", ".log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", command) + " took more than " + timeoutSeconds + " s:\n" + Files.readString(log));
        }
        return new Result(p.exitValue(), Files.readString(log));
    }

    private String url(String path) { return "http://127.0.0.1:" + httpPort + path; }

    @Test
    void theOfficialOpenAiSdkStreamsChatCompletions(@TempDir Path work) throws Exception {
        Path node = Path.of("src/test/node");
        for (String f : List.of("package.json", "package-lock.json", "openai-sdk-check.mjs"))
            Files.copy(node.resolve(f), work.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        Result install = exec(work, 300, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error");
        assertEquals(0, install.exit(), "npm ci (the openai package from the npm registry) failed:\n" + install.output());
        Result sdk = exec(work, 300, "node", "openai-sdk-check.mjs", url("/v1"), KEY);
        assertEquals(0, sdk.exit(), "the OpenAI SDK checks failed:\n" + sdk.output() + "\nserver output:\n" + upOutput);
        assertTrue(sdk.output().contains("all checks passed"), sdk.output());
    }

    @Test
    void curlSeesServerSentEventsFramedAsOpenAiDoes(@TempDir Path work) throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":6,\"temperature\":0,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        Result r = exec(work, 60, "curl", "-sS", "-N", "--max-time", "50", "-D", "headers.txt", "-H", "Authorization: Bearer " + KEY,
                "-H", "Content-Type: application/json", "-d", body, url("/v1/chat/completions"));
        assertEquals(0, r.exit(), r.output());
        String headers = Files.readString(work.resolve("headers.txt")).toLowerCase();
        assertTrue(headers.startsWith("http/1.1 200"), headers);
        assertTrue(headers.contains("content-type: text/event-stream"), headers);
        assertTrue(headers.contains("transfer-encoding: chunked"), headers);
        // Every event is one "data: ..." line and a blank line; the last is [DONE].
        assertTrue(r.output().endsWith("\n\n"), r.output());
        String[] events = r.output().substring(0, r.output().length() - 2).split("\n\n", -1);
        assertEquals("data: [DONE]", events[events.length - 1], r.output());
        List<JsonNode> chunks = new ArrayList<>();
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: ") && !events[i].contains("\n"), "event " + i + ": " + events[i]);
            chunks.add(JSON.readTree(events[i].substring(6)));
        }
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asText(), r.output());
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.get("choices").size(), "the include_usage chunk has no choices: " + usage);
        String finish = chunks.get(chunks.size() - 2).at("/choices/0/finish_reason").asText();
        int completion = usage.at("/usage/completion_tokens").asInt();
        assertTrue(finish.equals("length") ? completion == 6 : completion >= 1 && completion <= 6, finish + " after " + completion);
        long finishes = chunks.stream().filter(c -> c.at("/choices/0/finish_reason").isTextual()).count();
        assertEquals(1, finishes, r.output());
        String id = chunks.getFirst().get("id").asText();
        assertTrue(id.startsWith("chatcmpl-") && chunks.stream().allMatch(c -> c.get("id").asText().equals(id)), "one id per stream");
    }

    @Test
    void healthMetricsAndKeysOverCurl(@TempDir Path work) throws Exception {
        Result health = exec(work, 30, "curl", "-sS", "-w", "\n%{http_code}", url("/health"));
        assertTrue(health.output().endsWith("\n200") && health.output().contains("\"role\":\"leader\""), health.output());
        Result metrics = exec(work, 30, "curl", "-sS", url("/metrics"));
        assertTrue(metrics.output().contains("# TYPE tessera:time_to_first_token_seconds histogram"), metrics.output());
        Result noKey = exec(work, 30, "curl", "-sS", "-w", "\n%{http_code}", url("/v1/models"));
        assertTrue(noKey.output().endsWith("\n401"), noKey.output());
        JsonNode error = JSON.readTree(noKey.output().substring(0, noKey.output().lastIndexOf('\n')));
        assertEquals("authentication_error", error.at("/error/type").asText(), noKey.output());
    }
}
