package dev.tessera.deploy.cli;

import dev.tessera.client.ClientOptions;
import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.GenerationStream;
import dev.tessera.client.HostPort;
import dev.tessera.client.MatchedStop;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.Usage;
import dev.tessera.proto.zk.ZkLayout;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tessera generate}: one completion from a running cluster, streamed to stdout as it is generated, with a
 * summary on stderr; or, with {@code --json}, the finished result as one JSON object. Exit status: 0 when the
 * generation stopped or reached its length, 1 on a gRPC error or a generation the server ended (ERROR, CANCELLED),
 * 2 on a usage error.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a completion on a running Tessera cluster (see `tessera up`).",
                "Streams the text to stdout as it arrives (token ids with --show-token-ids or a --token-ids prompt), "
                        + "then prints a summary on stderr."})
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "PROMPT",
            description = "Prompt text, tokenized by the coordinator; special token names such as <|start|> become their ids.")
    String prompt;

    @Option(names = "--token-ids", split = ",", paramLabel = "ID", description = "Prompt as token ids, e.g. 200006,1428,200008.")
    List<Integer> tokenIds;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Coordinator host. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "" + HostPort.DEFAULT_PORT, description = "Coordinator port. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--zookeeper", paramLabel = "CONNECT",
            description = "ZooKeeper connect string (host:port[,...]); the leader coordinator registered there is used instead of --host/--port.")
    String zookeeper;

    @Option(names = "--zk-root", defaultValue = "/tessera", description = "The cluster's ZooKeeper root. Default: ${DEFAULT-VALUE}.")
    String zkRoot;

    @Option(names = "--model", description = "Model name (default: the coordinator's default model).")
    String model;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Most tokens to generate; 0: up to the context. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", description = "Softmax temperature; 0 is greedy. Default: the server's (1.0).")
    Float temperature;

    @Option(names = "--top-p", description = "Nucleus sampling mass in (0, 1]. Default: the server's (1.0, off).")
    Float topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most probable tokens; 0: off. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--seed", description = "Sampling seed (default: a random one, reported by the server).")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "A stop string; repeatable.")
    List<String> stopStrings = new ArrayList<>();

    @Option(names = "--stop-token-id", paramLabel = "ID",
            description = "A stop token id; repeatable; replaces the default set (<|return|> 200002, <|call|> 200012).")
    List<Integer> stopTokenIds = new ArrayList<>();

    @Option(names = "--ignore-stop-tokens", description = "Run to --max-tokens whatever tokens are sampled.")
    boolean ignoreStopTokens;

    @Option(names = "--timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "Deadline of the whole call, the wait for a leader included. Default: ${DEFAULT-VALUE}.")
    double timeoutSeconds;

    @Option(names = "--show-token-ids", description = "Stream token ids instead of text.")
    boolean showTokenIds;

    @Option(names = "--json", description = "Print only the finished result, as one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        GenerateRequest request = request();
        if (!(timeoutSeconds > 0)) throw usage("--timeout must be > 0 seconds, got " + timeoutSeconds);
        Duration timeout = Duration.ofNanos((long) (timeoutSeconds * 1e9));
        ClientOptions options = ClientOptions.DEFAULTS.withDeadline(timeout).withLeaderWait(timeout);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        String target = zookeeper != null ? "the leader coordinator in ZooKeeper at " + zookeeper : new HostPort(host, port).toString();
        try (TesseraClient client = zookeeper != null
                ? TesseraClient.fromZooKeeper(zookeeper, new ZkLayout(zkRoot), options)
                : TesseraClient.connect(new HostPort(host, port).toString(), options);
             GenerationStream stream = client.generate(request)) {
            long start = System.nanoTime(), firstToken = 0;
            boolean ids = showTokenIds || tokenIds != null;
            while (stream.hasNext()) {
                GenerateResponse chunk = stream.next();
                if (firstToken == 0 && chunk.getTokenIdsCount() > 0) firstToken = System.nanoTime();
                if (json) continue;
                if (ids) chunk.getTokenIdsList().forEach(id -> out.print(id + " "));
                else out.print(chunk.getText());
                out.flush();
            }
            long end = System.nanoTime();
            Completion c = stream.completion();
            if (json) {
                out.println(toJson(c));
            } else {
                out.println();
                err.println(summary(c, start, firstToken, end));
            }
            out.flush();
            return c.succeeded() ? 0 : 1;
        } catch (StatusRuntimeException e) {
            err.println(unreachable(e)
                    ? "error: cannot reach a Tessera coordinator at " + target + " (" + rootMessage(e) + "); start one with ./tessera up"
                    : "error: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            return 1;
        }
    }

    private GenerateRequest request() {
        if ((prompt == null) == (tokenIds == null)) throw usage("give a prompt text or --token-ids (one of the two)");
        if (zookeeper != null && (matched("--host") || matched("--port")))
            throw usage("--zookeeper finds the leader itself; leave out --host and --port");
        GenerateRequest.Builder b;
        try {
            b = prompt != null ? GenerateRequests.text(prompt) : GenerateRequests.tokens(tokenIds);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        SamplingParams.Builder s = SamplingParams.newBuilder().setMaxTokens(maxTokens).setTopK(topK);
        if (temperature != null) s.setTemperature(temperature);
        if (topP != null) s.setTopP(topP);
        if (seed != null) s.setSeed(seed);
        if (model != null) b.setModel(model);
        return b.setSampling(s).addAllStopStrings(stopStrings).addAllStopTokenIds(stopTokenIds)
                .setIgnoreStopTokens(ignoreStopTokens).build();
    }

    private boolean matched(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    static String summary(Completion c, long start, long firstToken, long end) {
        int n = c.tokenIds().size();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "generate: %d tokens, finish_reason=%s", n, reason(c.finishReason())));
        if (firstToken != 0) s.append(String.format(Locale.ROOT, ", time to first token %.0f ms", (firstToken - start) / 1e6));
        if (n > 1 && end > firstToken) s.append(String.format(Locale.ROOT, ", %.1f tokens/s", (n - 1) / ((end - firstToken) / 1e9)));
        if (!c.error().isEmpty()) s.append(": ").append(c.error());
        return s.append(" (request ").append(c.requestId()).append(')').toString();
    }

    /** A connection failure, as opposed to a status the server sent. */
    private static boolean unreachable(StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) return false;
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException) return true;
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    static String reason(FinishReason r) {
        return r.name().replace("FINISH_REASON_", "").toLowerCase(Locale.ROOT);
    }

    /** The result as one JSON object: request_id, token_ids, text, finish_reason, matched_stop, error, usage. */
    static String toJson(Completion c) {
        Usage u = c.usage();
        String matched = switch (c.matchedStop()) {
            case null -> "null";
            case MatchedStop.Token t -> Integer.toString(t.tokenId());
            case MatchedStop.Text t -> quote(t.stop());
        };
        return "{\"request_id\":" + quote(c.requestId())
                + ",\"token_ids\":[" + c.tokenIds().stream().map(String::valueOf).collect(Collectors.joining(",")) + "]"
                + ",\"text\":" + quote(c.text())
                + ",\"finish_reason\":" + quote(reason(c.finishReason()))
                + ",\"matched_stop\":" + matched
                + ",\"error\":" + quote(c.error())
                + ",\"usage\":{\"prompt_tokens\":" + u.getPromptTokens() + ",\"completion_tokens\":" + u.getCompletionTokens()
                + ",\"queue_time_us\":" + u.getQueueTimeUs() + ",\"time_to_first_token_us\":" + u.getTimeToFirstTokenUs()
                + ",\"total_time_us\":" + u.getTotalTimeUs() + ",\"preemptions\":" + u.getPreemptions() + "}}";
    }

    /** A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    else b.append(ch);
                }
            }
        }
        return b.append('"').toString();
    }
}
