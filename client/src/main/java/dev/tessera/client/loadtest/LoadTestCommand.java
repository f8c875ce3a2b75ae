package dev.tessera.client.loadtest;

import dev.tessera.client.ClientOptions;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.zk.ZkLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code tessera loadtest}: load a Tessera cluster (gRPC) or any OpenAI-compatible endpoint, and report. */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = {"Load a Tessera cluster over gRPC, or any OpenAI-compatible HTTP endpoint, at a sweep of request "
                + "rates (open loop, Poisson or gamma arrivals) or concurrencies (closed loop); print live progress and a "
                + "line per level; with --out, write report.json, report.md and report.html.",
                "Example: tessera loadtest --rate 1,2,4 --duration 30 --prompt-len uniform:100:300 --output-len 128 --out out/lt"})
public final class LoadTestCommand implements Callable<Integer> {

    @Option(names = "--target", defaultValue = "grpc", description = "grpc (Tessera) or openai (any OpenAI-compatible server). Default: ${DEFAULT-VALUE}.")
    String target;

    @Option(names = "--address", defaultValue = "127.0.0.1:50051", description = "grpc: the coordinator's address. Default: ${DEFAULT-VALUE}.")
    String address;

    @Option(names = "--zookeeper", description = "grpc: find the leader through ZooKeeper at this connect string instead of --address.")
    String zookeeper;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8000/v1", description = "openai: the API's base URL. Default: ${DEFAULT-VALUE}.")
    String url;

    @Option(names = "--api-key", description = "openai: bearer key (default: $OPENAI_API_KEY if set).")
    String apiKey;

    @Option(names = "--endpoint", defaultValue = "completions", description = "openai: completions (token-id prompts, fixed output "
            + "lengths) or chat (text prompts). Default: ${DEFAULT-VALUE}.")
    String endpoint;

    @Option(names = "--model", defaultValue = "", description = "Model name (default: the server's default).")
    String model;

    @Option(names = "--rate", split = ",", description = "Open loop: offered requests per second, one level each (e.g. 1,2,4,8).")
    List<Double> rates = new ArrayList<>();

    @Option(names = "--concurrency", split = ",", description = "Closed loop: requests in flight, one level each (e.g. 1,4,16).")
    List<Integer> concurrencies = new ArrayList<>();

    @Option(names = "--burstiness", defaultValue = "1", description = "Open loop: gamma shape of the arrivals; 1 is Poisson, "
            + "below 1 burstier. Default: ${DEFAULT-VALUE}.")
    double burstiness;

    @Option(names = "--max-concurrency", defaultValue = "0", description = "Open loop: most requests in flight (0: no limit). Default: ${DEFAULT-VALUE}.")
    int maxConcurrency;

    @Option(names = "--duration", defaultValue = "30", description = "Measured seconds per level. Default: ${DEFAULT-VALUE}.")
    double duration;

    @Option(names = "--requests", defaultValue = "0", description = "Measured requests per level instead of --duration (0: by duration).")
    int requests;

    @Option(names = "--warmup", defaultValue = "5", description = "Seconds per level run but not measured. Default: ${DEFAULT-VALUE}.")
    double warmup;

    @Option(names = "--prompt-len", defaultValue = "uniform:100:300", description = "Prompt tokens: N, uniform:A:B or normal:MEAN:SD. Default: ${DEFAULT-VALUE}.")
    String promptLength;

    @Option(names = "--output-len", defaultValue = "128", description = "Output tokens: N, uniform:A:B or normal:MEAN:SD. Default: ${DEFAULT-VALUE}.")
    String outputLength;

    @Option(names = "--shared-prefix", defaultValue = "0", description = "Tokens every prompt shares at its start. Default: ${DEFAULT-VALUE}.")
    int sharedPrefix;

    @Option(names = "--vocab", defaultValue = "100000", description = "Token-id prompts draw ids below this (set it to a small "
            + "checkpoint's vocabulary). Default: ${DEFAULT-VALUE}.")
    int vocab;

    @Option(names = "--text", description = "Text prompts instead of token ids (the chat endpoint always uses text).")
    boolean text;

    @Option(names = "--dataset", description = "A ShareGPT-layout dataset (JSONL or a JSON array): prompts and output lengths from it.")
    Path dataset;

    @Option(names = "--max-output-len", defaultValue = "0", description = "With --dataset: cap each output length (0: none).")
    int maxOutputLength;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the workload and the arrivals. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--slo-ttft-ms", defaultValue = "0", description = "Goodput: most time to first token, ms (0: none).")
    double sloTtft;

    @Option(names = "--slo-tpot-ms", defaultValue = "0", description = "Goodput: most time per output token, ms (0: none).")
    double sloTpot;

    @Option(names = "--slo-e2e-ms", defaultValue = "0", description = "Goodput: most end-to-end latency, ms (0: none).")
    double sloE2e;

    @Option(names = "--timeout", defaultValue = "300", description = "Seconds a request may take; also how long a level waits "
            + "for its last requests. Default: ${DEFAULT-VALUE}.")
    double timeout;

    @Option(names = "--omit-text", description = "grpc: ask for token ids only, no detokenizing on the server (to measure scheduling alone).")
    boolean omitText;

    @Option(names = "--out", description = "Directory for report.json, report.md and report.html.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (rates.isEmpty() == concurrencies.isEmpty())
            throw new IllegalArgumentException("give either --rate R[,R...] (open loop) or --concurrency N[,N...] (closed loop)");
        if (!(timeout > 0 && timeout < 1e7)) throw new IllegalArgumentException("--timeout must be > 0 seconds (and sane), got " + timeout);
        if (!(warmup >= 0 && warmup < 1e7)) throw new IllegalArgumentException("--warmup must be >= 0 seconds, got " + warmup);
        if (!(duration > 0 && duration < 1e7) && requests == 0)
            throw new IllegalArgumentException("--duration must be > 0 seconds, or give --requests, got " + duration);
        if (requests < 0 || maxConcurrency < 0) throw new IllegalArgumentException("--requests and --max-concurrency must be >= 0");
        for (double r : rates) if (!(r > 0 && r < 1e7)) throw new IllegalArgumentException("every --rate must be > 0, got " + r);
        for (int c : concurrencies) if (c < 1) throw new IllegalArgumentException("every --concurrency must be >= 1, got " + c);
        List<LoadLevel> levels = new ArrayList<>();
        rates.forEach(r -> levels.add(LoadLevel.rate(r)));
        concurrencies.forEach(c -> levels.add(LoadLevel.concurrency(c)));
        boolean chat = endpoint.equals("chat");
        if (!chat && !endpoint.equals("completions")) throw new IllegalArgumentException("--endpoint is completions or chat, got '" + endpoint + "'");
        Workload workload = dataset != null ? ShareGptWorkload.load(dataset, seed, 0, maxOutputLength)
                : new SyntheticWorkload(LengthDistribution.parse(promptLength), LengthDistribution.parse(outputLength), sharedPrefix,
                vocab, text || chat, seed ^ 0x5eed);
        Duration requestTimeout = Duration.ofMillis((long) (timeout * 1000));
        LevelRunner.Settings settings = new LevelRunner.Settings(Duration.ofMillis((long) (warmup * 1000)),
                Duration.ofMillis((long) (duration * 1000)), requests, maxConcurrency, burstiness, requestTimeout,
                new Slo(sloTtft, sloTpot, sloE2e));
        String arrivals = concurrencies.isEmpty() ? new ArrivalProcess(1, burstiness).describe()
                + (maxConcurrency > 0 ? ", at most " + maxConcurrency + " in flight" : "") : "closed loop";
        try (Target t = target()) {
            Report report = new LoadTest(t, workload, settings, seed).run(levels, arrivals,
                    command(), System.out, System.console() != null);
            if (report.knee() >= 0) System.out.println("knee: " + report.levels().get(report.knee()).level().label());
            if (out != null) {
                ReportWriter.write(report, out);
                System.out.println("reports: " + out.resolve("report.json") + ", report.md, report.html");
            }
            return report.levels().stream().allMatch(l -> l.completed() > 0) ? 0 : 1;
        }
    }

    /** The command line as typed, for the report (picocli's original arguments start at the top command). */
    private String command() {
        List<String> args = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());
        int at = args.indexOf(spec.name());
        return "./tessera loadtest " + String.join(" ", at >= 0 ? args.subList(at + 1, args.size()) : args);
    }

    private Target target() {
        return switch (target) {
            case "grpc" -> {
                ClientOptions options = ClientOptions.DEFAULTS.withDeadline(Duration.ofMillis((long) (timeout * 1000)));
                TesseraClient client = zookeeper != null ? TesseraClient.fromZooKeeper(zookeeper, ZkLayout.DEFAULT, options)
                        : TesseraClient.connect(address, options);
                yield new GrpcTarget(client, model, omitText);
            }
            case "openai" -> new OpenAiTarget(url, apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY"), model,
                    endpoint.equals("chat") ? OpenAiTarget.Endpoint.CHAT : OpenAiTarget.Endpoint.COMPLETIONS,
                    Duration.ofMillis((long) (timeout * 1000)));
            default -> throw new IllegalArgumentException("--target is grpc or openai, got '" + target + "'");
        };
    }
}
