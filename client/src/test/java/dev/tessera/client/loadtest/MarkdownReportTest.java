package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MarkdownReportTest {

    /** Three open-loop levels with hand-picked figures; the knee is the second, the third completed nothing. */
    static Report handMade(RunInfo run) {
        LevelResult two = new LevelResult(LoadLevel.rate(2), 60, 118, 3, Map.of("timeout", 1L, "http 429", 2L),
                1.9666667, 393.3, 251.73,
                new Percentiles(118, 50, 45.3, 80.2, 90, 120.7, 300), new Percentiles(118, 8, 7.9, 8.5, 8.8, 9.25, 12),
                new Percentiles(15000, 8, 7.5, 9.1, 9.9, 14.0, 40),
                new Percentiles(118, 1100, 1050, 1300, 1400, 1712.4, 2500), 1.8, 0.915, List.of());
        LevelResult four = new LevelResult(LoadLevel.rate(4), 60, 236, 0, Map.of(), 3.9333, 786.6, 503.5,
                new Percentiles(236, 70, 60, 110, 130, 180, 400), new Percentiles(236, 9, 8.9, 9.5, 9.8, 10.5, 14),
                new Percentiles(30000, 9, 8.5, 10.1, 10.9, 15.0, 41),
                new Percentiles(236, 1200, 1190, 1400, 1500, 1800, 2600), 3.9333, 1.0, List.of());
        LevelResult eight = new LevelResult(LoadLevel.rate(8), 60, 0, 480, Map.of("UNAVAILABLE", 480L), 0, 0, 0,
                Percentiles.EMPTY, Percentiles.EMPTY, Percentiles.EMPTY, Percentiles.EMPTY, 0, 0, List.of());
        return new Report(run, List.of(two, four, eight), 1);
    }

    @Test
    void oneTableRowPerLevelWithItsFigures() {
        String md = MarkdownReport.render(handMade(SyntheticReports.run("gpt-oss-20b", "poisson")));
        List<String> lines = md.lines().toList();

        String header = "| Offered req/s | Completed | Achieved req/s | Output tok/s | TTFT p50 ms | TTFT p90 ms | "
                + "TTFT p99 ms | TPOT p50 ms | TPOT p99 ms | ITL p50 ms | ITL p99 ms | E2E p50 ms | E2E p99 ms | "
                + "Goodput req/s | Errors |";
        int at = lines.indexOf(header);
        assertTrue(at > 0, md);
        assertEquals("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                + "| :--- |", lines.get(at + 1));
        assertEquals("| 2 | 118 | 1.97 | 252 | 45.3 | 80.2 | 121 | 7.90 | 9.25 | 7.50 | 14.0 | 1050 | 1712 | 1.80 (91.5%) "
                + "| 3: http 429 ×2, timeout ×1 |", lines.get(at + 2));
        assertEquals("| **4 (knee)** | **236** | **3.93** | **504** | **60.0** | **110** | **180** | **8.90** | **10.5** "
                + "| **8.50** | **15.0** | **1190** | **1800** | **3.93 (100.0%)** | **0** |", lines.get(at + 3));
        assertEquals("| 8 | 0 | 0 | 0 | – | – | – | – | – | – | – | – | – | 0 (0.0%) | 480: UNAVAILABLE ×480 |",
                lines.get(at + 4));
        assertEquals("", lines.get(at + 5));
        assertEquals("Knee: rate 4/s (level 2 of 3), the last level before throughput stops following the offered "
                + "load or latency jumps.", lines.get(at + 6));
        // the arrival process right above the TTFT figures
        assertEquals("Arrivals: poisson. TTFT is measured at the client and includes any client-side queueing.",
                lines.get(at - 2));
    }

    @Test
    void runInfoWithTheSimulatedLabelFirst() {
        String md = MarkdownReport.render(handMade(SyntheticReports.run("gpt-oss-20b", "gamma burstiness 0.5")));
        List<String> lines = md.lines().toList();
        assertEquals("# Load test: gpt-oss-20b", lines.get(0));
        assertEquals("> **SIMULATED workers: fixed 8 ms/token + 30 ms prefill**. Latencies come from the latency model, "
                + "not from model math.", lines.get(2));
        for (String item : List.of("- Target: `grpc 127.0.0.1:50051`", "- Model: `gpt-oss-20b`",
                "- Workers: **SIMULATED workers: fixed 8 ms/token + 30 ms prefill**",
                "- Workload: `prompt uniform 100..300 tokens, output 128 tokens`",
                "- Arrivals: `gamma burstiness 0.5`", "- Seed: `42`", "- SLOs: TTFT <= 500 ms, E2E <= 20000 ms",
                "- Warm-up: 5 s per level, excluded from the figures"))
            assertTrue(lines.contains(item), item + " in\n" + md);
        int command = lines.indexOf("Command:");
        assertEquals(List.of("```", "./tessera loadtest --rates 1,2,4,8,16 --duration 20 --seed 42 --slo-ttft 500", "```"),
                lines.subList(command + 2, command + 5));
    }

    @Test
    void realWorkersAndTheServersDefaultModel() {
        RunInfo sim = SyntheticReports.run("", "poisson");
        RunInfo real = new RunInfo(sim.target(), "", sim.workload(), sim.arrivals(), sim.seed(), sim.startedAt(), false,
                "", Slo.NONE, 0, sim.command());
        String md = MarkdownReport.render(handMade(real));
        assertFalse(md.contains("SIMULATED"), md);
        assertTrue(md.contains("- Workers: real\n"));
        assertTrue(md.contains("- Model: `(server default)`\n"));
        assertTrue(md.contains("- SLOs: none\n"));
    }

    @Test
    void escapesWhatCouldBreakTheLayout() {
        RunInfo sim = SyntheticReports.run("evil|*model*`x`", "poisson");
        RunInfo run = new RunInfo(sim.target(), sim.model(), sim.workload(), sim.arrivals(), sim.seed(), sim.startedAt(),
                true, "a|b <i>", sim.slo(), sim.warmupSeconds(), "run --name '```'\nsecond line");
        Report hand = handMade(run);
        LevelResult two = hand.levels().getFirst();
        LevelResult odd = new LevelResult(two.level(), two.durationSeconds(), two.completed(), 1,
                Map.of("bad|kind\nwith newline", 1L), two.requestsPerSecond(), two.inputTokensPerSecond(),
                two.outputTokensPerSecond(), two.ttft(), two.tpot(), two.itl(), two.e2e(), two.goodputPerSecond(),
                two.goodFraction(), two.samples());
        String md = MarkdownReport.render(new Report(run, List.of(odd), -1));
        assertTrue(md.startsWith("# Load test: evil\\|\\*model\\*\\`x\\`\n"), md);
        assertTrue(md.contains("- Model: `` evil|*model*`x` ``\n"), md);
        assertTrue(md.contains("> **SIMULATED workers: a\\|b \\<i>**."), md);
        assertTrue(md.contains("| 1: bad\\|kind with newline ×1 |\n"), md);
        assertTrue(md.contains("\n````\nrun --name '```'\nsecond line\n````\n"), md);
        assertTrue(md.contains("Knee: none (a single load level)."), md);
        // every table line has the header's number of unescaped pipes
        md.lines().filter(l -> l.startsWith("|"))
                .forEach(l -> assertEquals(16, l.replace("\\|", "").chars().filter(c -> c == '|').count(), l));
    }

    @Test
    void writerPutsTheSameMarkdownOnDisk(@TempDir Path dir) throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-120b");
        ReportWriter.write(report, dir);
        assertEquals(ReportWriter.markdown(report), Files.readString(dir.resolve(ReportWriter.MARKDOWN)));
        assertTrue(ReportWriter.markdown(report).contains("| **8 (knee)** |"));
    }
}
