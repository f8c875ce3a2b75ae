package dev.tessera.deploy;

import static dev.tessera.deploy.TesseraMainTest.run;
import static dev.tessera.deploy.TesseraMainTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** `tessera worker`: user mistakes get one line and exit code 2 before anything starts. */
class WorkerCommandTest {

    private static void assertOneLineError(TesseraMainTest.Run r, String fragment) {
        assertEquals(2, r.exit(), r.out() + r.err());
        String err = r.err().lines().filter(l -> l.startsWith("worker: ")).findFirst().orElse(r.err());
        assertTrue(err.contains(fragment), r.err());
    }

    @Test
    void userMistakesGetOneLineAndExitCode2() {
        String model = tiny().toString();
        assertOneLineError(run("worker", "--model", model, "--port", "0"), "give --id with --port 0");
        assertOneLineError(run("worker", "--model", model, "--layers", "3:1", "--zookeeper", "none"), "layer range [3, 1) is empty");
        assertOneLineError(run("worker", "--model", model, "--layers", "0-4", "--zookeeper", "none"), "not of the form first:last");
        assertOneLineError(run("worker", "--model", model, "--zookeeper", "none"), "has no layer range");
        assertOneLineError(run("worker", "--model", model, "--layers", "0:9", "--zookeeper", "none", "--port", "0", "--id", "w"),
                "layer range [0,9) exceeds the 4 layers");
        assertOneLineError(run("worker"), "--model is required");
    }

    @Test
    void simulatedWorkersCheckTheirFlags() {
        String model = tiny().toString();
        assertOneLineError(run("worker", "--model", model, "--layers", "0:4", "--zookeeper", "none", "--sim-latency", "1,2,3"),
                "apply to --backend sim only");
        assertOneLineError(run("worker", "--backend", "sim", "--layers", "0:4", "--zookeeper", "none", "--sim-latency", "1,2"),
                "three numbers of milliseconds");
        assertOneLineError(run("worker", "--backend", "sim", "--layers", "0:4", "--zookeeper", "none", "--sim-latency", "1,-2,3"),
                "must be a finite number of milliseconds >= 0");
        assertOneLineError(run("worker", "--backend", "sim", "--layers", "0:4", "--zookeeper", "none", "--sim-preset", "gpt-oss-7b"),
                "unknown preset 'gpt-oss-7b'");
        assertOneLineError(run("worker", "--backend", "sim", "--layers", "0:40", "--zookeeper", "none", "--port", "0", "--id", "w"),
                "layer range [0,40) exceeds the 36 layers of the simulated gpt-oss-120b");
        assertOneLineError(run("worker", "--backend", "sim", "--model", model, "--layers", "0:9", "--zookeeper", "none",
                "--port", "0", "--id", "w"), "layer range [0,9) exceeds the 4 layers of the model in");
        assertOneLineError(run("worker", "--backend", "sim", "--model", model, "--sim-preset", "tiny", "--layers", "0:4",
                "--zookeeper", "none"), "give --model or --sim-preset, not both");
        assertOneLineError(run("verify", "--model", model, "--backend", "sim"), "computes nothing");
    }
}
