package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.coordinator.openai.GatewayConfig;
import dev.tessera.worker.backend.CpuBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera loadtest} against a running cluster, as a user runs it: a two-level rate sweep over gRPC (about
 * 15 seconds), then a short one over the OpenAI HTTP API; live progress, a line per level, and the three reports.
 */
class LoadTestIT {

    @Test
    void aRateSweepAgainstTheClusterPrintsProgressAndWritesItsReports(@TempDir Path dir) throws Exception {
        LocalCluster.Options o = LocalCluster.Options.of(TestModels.tiny(), 2, () -> new CpuBackend(1), "cpu")
                .withHttp(GatewayConfig.of("127.0.0.1", 0));
        try (LocalCluster cluster = LocalCluster.start(o, System.out)) {
            Path grpc = dir.resolve("grpc");
            TesseraMainTest.Run r = TesseraMainTest.run("loadtest", "--address", cluster.address(), "--rate", "2,4",
                    "--warmup", "1", "--duration", "6", "--prompt-len", "uniform:8:24", "--output-len", "16", "--vocab", "512",
                    "--seed", "7", "--slo-ttft-ms", "2000", "--out", grpc.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("[rate 2/s]") && r.out().contains(" sent "), "live progress:\n" + r.out());
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("rate 4/s") && l.contains("req/s")), r.out());
            JsonNode report = new ObjectMapper().readTree(Files.readString(grpc.resolve("report.json")));
            assertEquals(2, report.path("levels").size(), report.toString());
            for (JsonNode level : report.path("levels")) {
                assertTrue(level.path("completed").asLong() >= 6, level.toString());
                assertEquals(0, level.path("failed").asLong(), level.toString());
                assertTrue(level.path("ttft").path("p50").asDouble() > 0, level.toString());
            }
            assertTrue(Files.readString(grpc.resolve("report.md")).contains("\n| 4 | "), "a table row for rate 4/s");
            assertTrue(Files.readString(grpc.resolve("report.html")).contains("<svg"));

            int http = cluster.coordinators().getFirst().httpPort();
            TesseraMainTest.Run h = TesseraMainTest.run("loadtest", "--target", "openai", "--url", "http://127.0.0.1:" + http + "/v1",
                    "--concurrency", "2", "--warmup", "0", "--requests", "6", "--prompt-len", "12", "--output-len", "8",
                    "--vocab", "512", "--out", dir.resolve("http").toString());
            assertEquals(0, h.exit(), h.out() + h.err());
            JsonNode level = new ObjectMapper().readTree(Files.readString(dir.resolve("http/report.json"))).path("levels").path(0);
            assertEquals(6, level.path("completed").asLong(), level.toString());
            assertEquals(6 * 8 / level.path("durationSeconds").asDouble(), level.path("outputTokensPerSecond").asDouble(), 1e-6,
                    "the usage chunk's exact counts");
        }
    }
}
