package dev.tessera.client.loadtest;

import java.util.Random;

/** The requests of a run, drawn one at a time with the run's random generator (so a seed reproduces them). */
public interface Workload {

    LoadRequest next(int index, Random random);

    /** For reports: "prompt uniform 100..300 tokens (ids), output 256 tokens". */
    String describe();
}
