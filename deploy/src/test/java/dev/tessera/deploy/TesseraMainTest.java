package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.backend.cuda.Cuda;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The launcher's commands as a user runs them: output lines, exit codes, one-line errors. */
class TesseraMainTest {

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), progress = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(progress, true, StandardCharsets.UTF_8));
            CommandLine cli = TesseraMain.commandLine();
            cli.setErr(new PrintWriter(err, true));
            int exit = cli.execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err + progress.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    static Path tiny() { return TestModels.tiny(); }

    @Test
    void verifyPassesOnTheFixtureOverTwoStages() {
        Run r = run("verify", "--model", tiny().toString(), "--stages", "2");
        assertEquals(0, r.exit(), r.out() + r.err());
        String last = r.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.matches("verify: max_abs_logit_err=\\S+ max_rel_hidden_err=\\S+ greedy=12/12 PASS"), last);
        assertTrue(r.out().contains("stages: [[0,2), [2,4)]"), r.out());
    }

    @Test
    void verifyFailsWhenTheGoldenDoesNotMatch(@TempDir Path dir) throws Exception {
        // A checkpoint of the fixture's shape with other random weights, against the fixture's golden file.
        Run synth = run("checkpoint", "synth", "--preset", "tiny", "--seed", "5", "--out", dir.resolve("m").toString());
        assertEquals(0, synth.exit(), synth.err());
        Run r = run("verify", "--model", dir.resolve("m").toString(), "--golden", tiny().resolve("golden.safetensors").toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().strip().endsWith("FAIL"), r.out());
    }

    @Test
    void userMistakesGetOneLineAndExitCode2(@TempDir Path dir) {
        Run missing = run("verify", "--model", dir.resolve("nothing").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().startsWith("verify: no config.json in"), missing.err());

        Cuda.Availability gpu = Cuda.availability();
        if (!gpu.available()) {
            Run cuda = run("verify", "--model", tiny().toString(), "--backend", "cuda");
            assertEquals(2, cuda.exit());
            assertEquals("verify: --backend cuda needs an NVIDIA GPU: " + gpu.reason(), cuda.err().strip());
        }
        Path nowhere = dir.resolve("libnowhere.so");
        Run library = run("verify", "--model", tiny().toString(), "--backend", "cuda", "--cuda-library", nowhere.toString());
        assertEquals(2, library.exit());
        assertEquals("verify: --backend cuda needs an NVIDIA GPU: the CUDA library " + nowhere.toAbsolutePath().normalize()
                + " does not exist", library.err().strip());
        Run misplaced = run("verify", "--model", tiny().toString(), "--cuda-library", nowhere.toString());
        assertEquals(2, misplaced.exit());
        assertTrue(misplaced.err().contains("--cuda-library applies to --backend cuda only"), misplaced.err());

        Run preset = run("checkpoint", "synth", "--preset", "gpt-oss-7b", "--out", dir.resolve("x").toString());
        assertEquals(2, preset.exit());
        assertTrue(preset.err().contains("gpt-oss-7b"), preset.err());

        assertEquals(2, run("verify").exit(), "a missing required option is a usage error");
    }
}
