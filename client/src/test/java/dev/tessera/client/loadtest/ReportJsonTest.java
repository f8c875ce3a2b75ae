package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportJsonTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsTheWholeReportNaNsIncluded() throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-20b");
        ReportWriter.write(report, dir);

        Report read = ReportJson.read(dir.resolve(ReportWriter.JSON));

        // records compare doubles with Double.compare, so NaN TTFTs must come back as NaN
        assertEquals(report, read);
        assertTrue(read.levels().get(4).samples().stream().anyMatch(s -> Double.isNaN(s.ttftMs())));
    }

    @Test
    void writesEachLevelsFiguresUnderTheRecordsNames() throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-20b");
        ReportWriter.write(report, dir);
        String text = Files.readString(dir.resolve(ReportWriter.JSON));
        JsonNode root = new ObjectMapper().readTree(text);

        JsonNode run = root.get("run");
        assertTrue(run.get("simulated").asBoolean());
        assertEquals("fixed 8 ms/token + 30 ms prefill", run.get("latencyModel").asText());
        assertEquals("poisson", run.get("arrivals").asText());
        assertEquals(42, run.get("seed").asLong());
        assertEquals(500.0, run.get("slo").get("ttftMs").asDouble());
        assertFalse(run.get("slo").has("set"), "a predicate is not data: " + run.get("slo"));
        assertEquals(3, root.get("knee").asInt());

        JsonNode levels = root.get("levels");
        assertEquals(5, levels.size());
        for (int i = 0; i < 5; i++) {
            LevelResult expected = report.levels().get(i);
            JsonNode level = levels.get(i);
            assertEquals(expected.level().offeredRate(), level.get("level").get("offeredRate").asDouble());
            assertEquals(expected.requestsPerSecond(), level.get("requestsPerSecond").asDouble());
            assertEquals(expected.outputTokensPerSecond(), level.get("outputTokensPerSecond").asDouble());
            assertEquals(expected.goodputPerSecond(), level.get("goodputPerSecond").asDouble());
            assertEquals(expected.ttft().p99(), level.get("ttft").get("p99").asDouble());
            assertEquals(expected.e2e().p50(), level.get("e2e").get("p50").asDouble());
            assertEquals(expected.ttft().count(), level.get("ttft").get("count").asLong());
            assertEquals(expected.samples().size(), level.get("samples").size());
        }
        JsonNode heaviest = levels.get(4);
        assertEquals(3, heaviest.get("errors").get("http 429").asLong());
        assertEquals(2, heaviest.get("errors").get("timeout").asLong());
        assertEquals(5_000_000.0, heaviest.get("e2e").get("max").asDouble(), 5_000_000.0 / 1000);
        JsonNode failed = heaviest.get("samples").get(heaviest.get("samples").size() - 1);
        assertFalse(failed.get("ok").asBoolean());
        assertTrue(failed.get("ttftMs").isNull(), "NaN is written as null: " + failed);
        assertTrue(failed.get("tpotMs").isNull());
        assertFalse(text.contains("NaN"), "JSON has no NaN");
    }

    @Test
    void readsNullAsNaNAndRejectsStringsForNumbers() throws Exception {
        Report one = SyntheticReports.nothingCompleted();
        Report read = ReportJson.fromJson(ReportJson.toJson(one));
        assertEquals(one, read);
        assertTrue(Double.isNaN(read.levels().getFirst().samples().getFirst().ttftMs()));

        String bad = ReportJson.toJson(one).replaceFirst("\"e2eMs\" : 30000.0", "\"e2eMs\" : \"slow\"");
        assertTrue(bad.contains("\"slow\""));
        assertThrows(Exception.class, () -> ReportJson.fromJson(bad));
    }

    @Test
    void writerRejectsAKneeOutsideTheLevels() {
        Report report = SyntheticReports.rates("m");
        Report bad = new Report(report.run(), report.levels(), 5);
        assertThrows(IllegalArgumentException.class, () -> ReportWriter.write(bad, dir));
        assertEquals(List.of(), List.of(dir.toFile().list()));
    }
}
