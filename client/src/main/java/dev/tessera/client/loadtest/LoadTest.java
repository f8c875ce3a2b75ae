package dev.tessera.client.loadtest;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A run: every load level of a sweep in turn, against one target with one workload, then the report. The run's
 * seed fixes the workload and the arrival times.
 */
public final class LoadTest {

    private final Target target;
    private final Workload workload;
    private final LevelRunner.Settings settings;
    private final long seed;

    public LoadTest(Target target, Workload workload, LevelRunner.Settings settings, long seed) {
        this.target = target;
        this.workload = workload;
        this.settings = settings;
        this.seed = seed;
    }

    /**
     * Runs the levels in order, printing progress and a line per finished level to {@code out}.
     *
     * @param arrivals how the run's arrivals are described ("poisson", "closed loop")
     * @param command  the command line, for the report
     */
    public Report run(List<LoadLevel> levels, String arrivals, String command, PrintStream out, boolean terminal) throws Exception {
        Target.ServerModel model = target.model();
        RunInfo info = new RunInfo(target.describe(), model.name(), workload.describe(), arrivals, seed, Instant.now().toString(),
                model.simulated(), model.latencyModel(), settings.slo(), settings.warmup().toMillis() / 1e3, command);
        out.println("loadtest: " + info.target() + ", model " + info.model() + (info.simulated() ? " (SIMULATED workers: "
                + info.latencyModel() + ")" : ""));
        out.println("loadtest: " + info.workload() + "; arrivals " + arrivals + "; seed " + seed + "; SLOs " + settings.slo().describe());
        Random random = new Random(seed);
        LevelRunner runner = new LevelRunner(target, workload, settings, random);
        List<LevelResult> results = new ArrayList<>();
        for (LoadLevel level : levels) {
            LevelResult r = runner.run(level, out, terminal);
            results.add(r);
            out.println(summary(r));
        }
        return new Report(info, List.copyOf(results), LevelStats.knee(results));
    }

    /** One line per level: what a person scans first. */
    static String summary(LevelResult r) {
        return String.format(Locale.ROOT,
                "%-18s %6.2f req/s  %8.1f out tok/s  TTFT p50 %7.1f p99 %7.1f ms  TPOT p50 %6.2f p99 %6.2f ms  ITL p99 %6.2f ms  "
                        + "E2E p99 %8.1f ms  goodput %6.2f req/s  ok %d  failed %d%s",
                r.level().label(), r.requestsPerSecond(), r.outputTokensPerSecond(), r.ttft().p50(), r.ttft().p99(),
                r.tpot().p50(), r.tpot().p99(), r.itl().p99(), r.e2e().p99(), r.goodputPerSecond(), r.completed(), r.failed(),
                r.errors().isEmpty() ? "" : " " + r.errors());
    }
}
