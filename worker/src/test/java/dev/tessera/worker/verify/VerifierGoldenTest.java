package dev.tessera.worker.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.ScalarBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The engine against transformers' own outputs for gpt-oss-tiny, whole and split into pipeline stages. */
class VerifierGoldenTest {

    @ParameterizedTest(name = "{0} stage(s), KV blocks of {1}")
    @CsvSource({"1, 16", "2, 4", "4, 3"})
    void matchesTransformersOnTheFixture(int stages, int blockSize) throws Exception {
        Path tiny = Fixtures.tiny();
        List<String> lines = new ArrayList<>();
        Verifier.Result r = Verifier.run(new Verifier.Options(tiny, tiny.resolve("golden.safetensors"), stages, blockSize),
                ScalarBackend::new, lines::add);
        lines.forEach(System.out::println);
        assertTrue(r.pass(), () -> String.join("\n", lines));
        assertTrue(r.maxAbsLogitErr() < 5e-4, "logit error " + r.maxAbsLogitErr());
        assertTrue(r.maxRelHiddenErr() < 1e-4, "hidden error " + r.maxRelHiddenErr());
        assertEquals(12, r.greedySteps());
        assertEquals(12, r.greedyMatched(), "greedy tokens on the fixture have margins far above the error");
    }
}
