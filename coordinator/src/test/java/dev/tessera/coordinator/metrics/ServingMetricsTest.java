package dev.tessera.coordinator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.scheduler.Finish;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The exposition text parsed back: families, HELP/TYPE, escaping, bucket placement and cumulativity, counts. */
class ServingMetricsTest {

    private static final long MS = 1_000_000;
    private static final List<String> COUNTERS = List.of("request_success_total", "prompt_tokens_total",
            "generation_tokens_total", "num_preemptions_total", "requests_rejected_total", "http_requests_total");
    private static final List<String> HISTOGRAMS = List.of("time_to_first_token_seconds", "inter_token_latency_seconds",
            "e2e_request_latency_seconds", "request_queue_time_seconds", "request_prompt_tokens", "request_generation_tokens");
    private static final List<String> GAUGES = List.of("num_requests_running", "num_requests_waiting", "kv_cache_usage_perc",
            "kv_blocks_in_use", "kv_blocks_total", "replicas_ready", "is_leader");

    private static FinishedRequest finished(String model, Finish finish, int prompt, int generated, long e2eMs, long queueMs, int preemptions) {
        return new FinishedRequest(model, finish, prompt, generated, e2eMs * MS, queueMs < 0 ? -1 : queueMs * MS, preemptions);
    }

    @Test
    void everyFamilyHasHelpAndTypeEvenBeforeAnyRecording() {
        Exposition text = Exposition.parse(new ServingMetrics(() -> null).scrape());
        for (String c : COUNTERS) assertEquals("counter", text.family("tessera:" + c).type(), c);
        for (String h : HISTOGRAMS) assertEquals("histogram", text.family("tessera:" + h).type(), h);
        for (String g : GAUGES) assertEquals("gauge", text.family("tessera:" + g).type(), g);
        assertEquals(COUNTERS.size() + HISTOGRAMS.size() + GAUGES.size(), text.families().size());
        text.families().values().forEach(f -> assertFalse(f.help().isBlank(), f.name()));
        for (String reason : List.of("invalid", "not_found", "unavailable", "overloaded"))
            assertEquals(0, text.value("tessera:requests_rejected_total", "reason", reason), reason);
    }

    @Test
    void finishedRequestsAreCountedByReasonAndModel() {
        ServingMetrics m = new ServingMetrics(() -> null);
        m.requestFinished(finished("m", Finish.STOP, 10, 4, 200, 5, 0));
        m.requestFinished(finished("m", Finish.LENGTH, 20, 16, 900, 50, 2));
        m.requestFinished(finished("m", Finish.CANCELLED, 7, 1, 3_000, -1, 0));
        m.requestFinished(finished("n", Finish.ERROR, 3, 0, 40, 2, 1));
        Exposition text = Exposition.parse(m.scrape());

        String success = "tessera:request_success_total";
        assertEquals(1, text.value(success, "finished_reason", "stop", "model", "m"));
        assertEquals(1, text.value(success, "finished_reason", "length", "model", "m"));
        assertEquals(1, text.value(success, "finished_reason", "abort", "model", "m"), "vLLM's name for cancelled");
        assertEquals(0, text.value(success, "finished_reason", "error", "model", "m"), "every reason exists once a model is seen");
        assertEquals(1, text.value(success, "finished_reason", "error", "model", "n"));
        assertEquals(37, text.value("tessera:prompt_tokens_total", "model", "m"));
        assertEquals(21, text.value("tessera:generation_tokens_total", "model", "m"));
        assertEquals(0, text.value("tessera:generation_tokens_total", "model", "n"));
        assertEquals(2, text.value("tessera:num_preemptions_total", "model", "m"));
        assertEquals(1, text.value("tessera:num_preemptions_total", "model", "n"));

        assertEquals(3, text.value("tessera:e2e_request_latency_seconds_count", "model", "m"));
        assertEquals(4.1, text.value("tessera:e2e_request_latency_seconds_sum", "model", "m"), 1e-9);
        assertEquals(1, text.bucket("tessera:e2e_request_latency_seconds", "0.3", "model", "m"), "0.2 s");
        assertEquals(1, text.bucket("tessera:e2e_request_latency_seconds", "0.8", "model", "m"));
        assertEquals(2, text.bucket("tessera:e2e_request_latency_seconds", "1", "model", "m"), "0.9 s");
        assertEquals(2, text.bucket("tessera:e2e_request_latency_seconds", "2.5", "model", "m"));
        assertEquals(3, text.bucket("tessera:e2e_request_latency_seconds", "5", "model", "m"), "3 s");
        assertEquals(3, text.bucket("tessera:e2e_request_latency_seconds", "+Inf", "model", "m"));
        assertEquals(2, text.value("tessera:request_queue_time_seconds_count", "model", "m"), "the unscheduled one has no queue time");
        assertEquals(0.055, text.value("tessera:request_queue_time_seconds_sum", "model", "m"), 1e-12);
        assertEquals(3, text.value("tessera:request_prompt_tokens_count", "model", "m"));
        assertEquals(0, text.bucket("tessera:request_prompt_tokens", "5", "model", "m"));
        assertEquals(2, text.bucket("tessera:request_prompt_tokens", "10", "model", "m"), "7, and 10 on the bound");
        assertEquals(3, text.bucket("tessera:request_prompt_tokens", "20", "model", "m"));
        assertEquals(37, text.value("tessera:request_prompt_tokens_sum", "model", "m"));
        assertEquals(21, text.value("tessera:request_generation_tokens_sum", "model", "m"));
    }

    @Test
    void tokenLatenciesLandInTheirBuckets() {
        ServingMetrics m = new ServingMetrics(() -> null);
        m.timeToFirstToken("m", 100 * MS);     // exactly on the 0.1 bound
        m.timeToFirstToken("m", 3 * MS);
        m.interTokenLatency("m", 4 * MS);
        m.interTokenLatency("m", 4 * MS);
        m.interTokenLatency("m", 30 * MS);
        m.interTokenLatency("m", 200_000 * MS); // beyond every bound
        Exposition text = Exposition.parse(m.scrape());
        String ttft = "tessera:time_to_first_token_seconds";
        assertEquals(0, text.bucket(ttft, "0.001", "model", "m"));
        assertEquals(1, text.bucket(ttft, "0.005", "model", "m"));
        assertEquals(1, text.bucket(ttft, "0.08", "model", "m"));
        assertEquals(2, text.bucket(ttft, "0.1", "model", "m"), "le is inclusive");
        assertEquals(0.103, text.value(ttft + "_sum", "model", "m"), 1e-12);
        String itl = "tessera:inter_token_latency_seconds";
        assertEquals(2, text.bucket(itl, "0.005", "model", "m"));
        assertEquals(3, text.bucket(itl, "0.05", "model", "m"));
        assertEquals(3, text.bucket(itl, "80", "model", "m"));
        assertEquals(4, text.bucket(itl, "+Inf", "model", "m"));
        assertEquals(4, text.value(itl + "_count", "model", "m"));
    }

    @Test
    void bucketsAreCumulativeAndMatchABruteForceCount() {
        ServingMetrics m = new ServingMetrics(() -> null);
        Random random = new Random(7);
        List<Long> nanos = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            long v = (long) Math.exp(random.nextDouble() * Math.log(3e12)); // 1 ns .. 3000 s, log-uniform
            nanos.add(v);
            m.timeToFirstToken("m", v);
        }
        Exposition text = Exposition.parse(m.scrape()); // parse() checks cumulativity and +Inf == _count
        for (double bound : ServingMetrics.TTFT_BOUNDS) {
            long expected = nanos.stream().filter(v -> v / 1e9 <= bound).count();
            assertEquals(expected, text.bucket("tessera:time_to_first_token_seconds", TextFormat.number(bound), "model", "m"), "le=" + bound);
        }
        assertEquals(nanos.size(), text.value("tessera:time_to_first_token_seconds_count", "model", "m"));
        assertEquals(nanos.stream().mapToDouble(v -> v / 1e9).sum(), text.value("tessera:time_to_first_token_seconds_sum", "model", "m"), 1e-6);
    }

    @Test
    void labelValuesAreEscapedAndParseBack() {
        ServingMetrics m = new ServingMetrics(() -> null);
        String route = "/v1/a\\b \"quoted\"\nnext line";
        m.httpRequest(route, 404);
        m.httpRequest(route, 404);
        m.httpRequest("/v1/models", 200);
        m.rejected("odd \"reason\"");
        String scraped = m.scrape();
        assertTrue(scraped.contains("route=\"/v1/a\\\\b \\\"quoted\\\"\\nnext line\""), scraped);
        Exposition text = Exposition.parse(scraped);
        assertEquals(2, text.value("tessera:http_requests_total", "route", route, "code", "404"));
        assertEquals(1, text.value("tessera:http_requests_total", "route", "/v1/models", "code", "200"));
        assertEquals(1, text.value("tessera:requests_rejected_total", "reason", "odd \"reason\""));
        for (String line : scraped.split("\n")) assertFalse(line.isEmpty(), "no blank lines");
    }

    @Test
    void numbersAreWrittenAsPrometheusParsesThem() {
        assertEquals("1", TextFormat.number(1.0));
        assertEquals("0.25", TextFormat.number(0.25));
        assertEquals("2560", TextFormat.number(2560.0));
        assertEquals("1.0E-4", TextFormat.number(1e-4));
        assertEquals("+Inf", TextFormat.number(Double.POSITIVE_INFINITY));
        assertEquals("-Inf", TextFormat.number(Double.NEGATIVE_INFINITY));
        assertEquals("NaN", TextFormat.number(Double.NaN));
        for (double v : new double[] {1.0, 0.25, 1e-4, 1e20, -3.5}) assertEquals(v, Exposition.number(TextFormat.number(v)));
    }

    @Test
    void aStandbyShowsNoReplicasAndALeaderItsLoad() throws Exception {
        AtomicReference<ReplicaSet> current = new AtomicReference<>();
        ServingMetrics m = new ServingMetrics(current::get);
        Exposition standby = Exposition.parse(m.scrape());
        assertEquals(0, standby.value("tessera:is_leader"));
        assertEquals(0, standby.value("tessera:replicas_ready"));
        assertEquals(0, standby.value("tessera:num_requests_running"));
        assertEquals(0, standby.value("tessera:num_requests_waiting"));
        assertTrue(standby.family("tessera:kv_cache_usage_perc").samples().isEmpty());

        try (ReplicaSet set = new ReplicaSet(address -> { throw new AssertionError("no replica is started"); },
                ReplicaSet.Limits.DEFAULT, 10)) {
            current.set(set);
            Exposition leader = Exposition.parse(m.scrape());
            assertEquals(1, leader.value("tessera:is_leader"));
            assertEquals(0, leader.value("tessera:replicas_ready"));
            assertTrue(leader.family("tessera:kv_blocks_in_use").samples().isEmpty());
        }
    }

    @Test
    void concurrentRecordingLosesNothingAndEveryScrapeParses() throws Exception {
        ServingMetrics m = new ServingMetrics(() -> null);
        int threads = 4, perThread = 20_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String model = "m" + (t % 2);
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    m.interTokenLatency(model, i * 1000L);
                    m.httpRequest("/v1/completions", 200);
                    if (i % 100 == 0) m.requestFinished(finished(model, Finish.STOP, 1, 2, 10, 1, 0));
                }
            }));
        }
        go.countDown();
        int scrapes = 0;
        while (workers.stream().anyMatch(Thread::isAlive)) {
            Exposition.parse(m.scrape()); // consistent mid-flight: cumulative buckets, +Inf == _count
            scrapes++;
        }
        for (Thread w : workers) w.join(TimeUnit.SECONDS.toMillis(10));
        Exposition text = Exposition.parse(m.scrape());
        assertEquals(threads * perThread, text.value("tessera:http_requests_total", "route", "/v1/completions", "code", "200"));
        assertEquals(threads / 2 * perThread, text.value("tessera:inter_token_latency_seconds_count", "model", "m0"));
        assertEquals(threads / 2 * perThread / 100, text.value("tessera:request_success_total", "finished_reason", "stop", "model", "m1"));
        assertTrue(scrapes > 0);
    }

    @Test
    void invalidRecordingsAreRefused() {
        ServingMetrics m = new ServingMetrics(() -> null);
        assertThrows(IllegalArgumentException.class, () -> m.rejected(" "));
        assertThrows(NullPointerException.class, () -> m.httpRequest(null, 200));
        assertThrows(IllegalArgumentException.class, () -> new FinishedRequest("m", Finish.STOP, -1, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FinishedRequest("m", Finish.STOP, 1, 0, -5, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FinishedRequest("m", Finish.STOP, 1, 0, 5, -2, 0));
        assertThrows(NullPointerException.class, () -> new FinishedRequest("m", null, 1, 0, 5, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new CounterFamily("tessera:bad name", "h"));
        assertThrows(IllegalArgumentException.class, () -> new HistogramFamily("h", "h", new double[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> new HistogramFamily("h", "h", new double[] {1}, "le"));
        Exposition text = Exposition.parse(m.scrape());
        assertTrue(text.family("tessera:http_requests_total").samples().isEmpty(), "nothing was recorded by a refused call");
    }

    @Test
    void theParserRejectsMalformedText() {
        String ok = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\n";
        Exposition.parse(ok);
        assertThrows(IllegalArgumentException.class, () -> Exposition.parse("a_total 1\n"), "no HELP/TYPE");
        assertThrows(IllegalArgumentException.class, () -> Exposition.parse(ok.replace("\"v\"", "\"v\\q\"")), "bad escape");
        assertThrows(IllegalArgumentException.class, () -> Exposition.parse(ok + "a_total{k=\"v\"} 2\n"), "repeated series");
        assertThrows(IllegalArgumentException.class, () -> Exposition.parse("# HELP h x\n# TYPE h histogram\n"
                + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"), "not cumulative");
        assertThrows(IllegalArgumentException.class, () -> Exposition.parse("# HELP h x\n# TYPE h histogram\n"
                + "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"), "no +Inf");
    }
}
