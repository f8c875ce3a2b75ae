package dev.tessera.worker.sim;

import dev.tessera.worker.engine.HiddenStates;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.Sampler;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.engine.StageModel;
import dev.tessera.worker.engine.StepLayout;
import dev.tessera.worker.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stage that does no model math: each step takes the time a {@link LatencyModel} gives and yields deterministic
 * stand-in tokens, so that a cluster of many replicas can be load-tested on one machine to measure the coordinator.
 * No weights are read; only the model's shape is needed.
 *
 * <p>What it keeps of a real stage's contract ({@link StageModel}):
 * <ul>
 *   <li><b>Time.</b> A step of {@code tokens} tokens over {@code sequences} sequences takes
 *       {@code layers/L · (a + b·tokens + c·sequences)} ms on a stage holding {@code layers} of the model's {@code L}
 *       layers ({@link LatencyModel#stepNanos}); the compute thread parks until that deadline (it does not spin).</li>
 *   <li><b>KV cache.</b> Each KV slot ({@code kvBlocks × kvBlockSize} of them) holds one 64-bit value: a hash of the
 *       sequence's tokens up to that position. The first stage chains it from the value at the position before,
 *       which it reads back from the slot the block table names; block tables are checked exactly as the engine
 *       checks them ({@link StepLayout}). So a sequence's tokens depend on the KV its blocks hold: blocks shared by two
 *       live sequences, a position skipped, or a resumed sequence whose blocks were reused change its tokens, as they
 *       would corrupt a real model's output.</li>
 *   <li><b>Hidden states.</b> Stages exchange {@value #PAYLOAD_WIDTH} float32 columns per token (16 bytes, raw bits:
 *       the token's value and the value at the position before), not the model's hidden size: the wire carries the
 *       step's structure and little else. A stage past the first does not need the token ids: it stores the value in
 *       its own KV, after checking that its own slot for the position before holds what the previous stage's did.
 *       When not (the stages were sent inconsistent tables or positions) it passes on a scrambled value, counts it
 *       ({@link #kvMismatches()}) and logs it.</li>
 *   <li><b>Sampling.</b> The last stage picks each sampled token by hashing the value at the sequence's last
 *       position, the position being sampled and, unless greedy, the seed, into the ordinary (non-special) token ids
 *       {@code [0, min(vocab, 199998))}: never a stop or other harmony special token, so a request runs until its
 *       max_tokens (or a stop string). The same prompt, seed and position give the same token in every run, whatever
 *       the batching, preemption or replica. Temperature (beyond 0 or not), top_k and top_p have no other effect.</li>
 *   <li><b>Log-probabilities</b>, when asked, are simulated too: the chosen token is reported as the most probable,
 *       with probability in [0.4, 0.95), and the alternatives as distinct deterministic ids with the rest of the mass
 *       halving from one to the next (so every value is &lt;= 0, they decrease, and their probabilities sum below 1).</li>
 * </ul>
 *
 * <p>Steps that ask for every token's logits or the residual stream (verification) are refused: there are none.
 *
 * <p>Thread safety: single-threaded, as every {@link StageModel}.
 */
public final class SimulatedShard implements StageModel {

    private static final Logger log = LoggerFactory.getLogger(SimulatedShard.class);

    /** Hidden-state columns per token on the wire: 4 float32 = two 64-bit values (16 bytes). */
    public static final int PAYLOAD_WIDTH = 4;

    /** First id of o200k_harmony's special tokens; sampled tokens stay below it. */
    public static final int FIRST_SPECIAL_TOKEN = 199_998;

    /** The chained value before position 0. */
    private static final long ORIGIN = 0x243F6A8885A308D3L;

    private final ModelConfig config;
    private final ShardSpec spec;
    private final LatencyModel latency;
    private final double share;
    private final Pacer pacer;
    private final long[] kv;
    private final int tokenLimit;
    private volatile long kvMismatches;

    /** A stage of {@code config} holding {@code spec}, paced by the system clock. */
    public SimulatedShard(ModelConfig config, ShardSpec spec, LatencyModel latency) {
        this(config, spec, latency, Pacer.SYSTEM);
    }

    /**
     * @throws IllegalArgumentException when {@code spec} exceeds the model's layers, or its KV pool has more than
     *                                  2^31 - 1 slots
     */
    public SimulatedShard(ModelConfig config, ShardSpec spec, LatencyModel latency, Pacer pacer) {
        this.config = Objects.requireNonNull(config, "config");
        this.spec = Objects.requireNonNull(spec, "spec");
        this.latency = Objects.requireNonNull(latency, "latency");
        this.pacer = Objects.requireNonNull(pacer, "pacer");
        if (spec.lastLayer() > config.numLayers())
            throw new IllegalArgumentException("layer range [" + spec.firstLayer() + ", " + spec.lastLayer()
                    + ") exceeds the model's " + config.numLayers() + " layers");
        long slots = (long) spec.kvBlocks() * spec.kvBlockSize();
        if (slots > Integer.MAX_VALUE)
            throw new IllegalArgumentException("a simulated KV pool holds at most " + Integer.MAX_VALUE + " slots, got "
                    + spec.kvBlocks() + " blocks of " + spec.kvBlockSize());
        this.kv = new long[(int) slots];
        this.share = (double) spec.layerCount() / config.numLayers();
        this.tokenLimit = Math.min(config.vocabSize(), FIRST_SPECIAL_TOKEN);
    }

    @Override
    public ShardSpec spec() { return spec; }

    @Override
    public boolean isFirst() { return spec.firstLayer() == 0; }

    @Override
    public boolean isLast() { return spec.lastLayer() == config.numLayers(); }

    @Override
    public int hiddenWidth() { return PAYLOAD_WIDTH; }

    public LatencyModel latency() { return latency; }

    /** The stage's share of the model's step time: its layers over the model's. */
    public double share() { return share; }

    /** Steps' tokens whose value from the previous stage disagreed with this stage's KV, since the start. */
    public long kvMismatches() { return kvMismatches; }

    /** How long this stage takes for {@code step}: its share of the latency model's step time. */
    public long delayNanos(ShardStep step) {
        return latency.stepNanos(step.tokens(), step.sequences().size(), share);
    }

    /**
     * Runs one step (see the class comment), returning once its time has passed. NOTE: when the thread is interrupted
     * while waiting (the stage is stopping), it returns at once with the interrupt flag set; the caller drops the
     * output.
     */
    @Override
    public ShardOutput forward(ShardStep step) {
        long started = pacer.nanoTime();
        if (step.allLogits() || step.trace())
            throw new IllegalArgumentException("a simulated stage has no logits or residual stream to return; "
                    + "verification needs a backend that computes");
        StepLayout at = StepLayout.of(step, spec, false);
        int n = at.tokens();
        long[] in = isFirst() ? null : payload(step.hidden(), n);
        long[] values = new long[n], befores = new long[n];
        int t = 0;
        for (SequenceChunk c : step.sequences()) {
            for (int i = 0; i < c.length(); i++, t++) {
                int pos = at.positions()[t];
                long before = pos == 0 ? ORIGIN : kv[at.batch().slot(t, pos - 1)];
                long v;
                if (in == null) {
                    v = mix(before, c.tokens()[i]);
                } else {
                    v = in[2 * t];
                    if (in[2 * t + 1] != before) v = mismatch(c.seqId(), pos, v, before);
                }
                kv[at.slots()[t]] = v;
                values[t] = v;
                befores[t] = before;
            }
        }
        ShardOutput out = isLast() ? sample(step, at, values)
                : new ShardOutput(encode(values, befores), null, 0, List.of(), null);
        pacer.sleepUntil(started + delayNanos(step));
        return out;
    }

    private ShardOutput sample(ShardStep step, StepLayout at, long[] values) {
        List<ShardOutput.Sampled> sampled = new ArrayList<>();
        for (int s = 0; s < step.sequences().size(); s++) {
            SequenceChunk c = step.sequences().get(s);
            if (!c.sample()) continue;
            long key = drawKey(values[at.lastRowOf(s)], c.endPosition(), c.sampling());
            int token = (int) Long.remainderUnsigned(key, tokenLimit);
            double p = 0.4 + 0.55 * unit(mix(key, 1));
            sampled.add(new ShardOutput.Sampled(c.seqId(), token, (float) Math.log(p)));
        }
        return new ShardOutput(null, null, sampled.size(), sampled, null);
    }

    /** The simulated log-probabilities of the {@code row}-th sampled token; see the class comment. */
    @Override
    public Sampler.Logprobs logprobs(ShardOutput out, int row, int token, int top) {
        ShardOutput.Sampled s = out.sampled().get(row);
        if (s.token() != token) throw new IllegalArgumentException("row " + row + " sampled token " + s.token() + ", not " + token);
        int vocab = config.vocabSize();
        if (top < 0 || top > vocab) throw new IllegalArgumentException("top must be in 0.." + vocab + ", got " + top);
        int[] ids = new int[top];
        float[] lps = new float[top];
        double rest = 1 - Math.exp(s.logprob());
        long h = mix(token, Float.floatToRawIntBits(s.logprob()));
        for (int k = 0; k < top; k++) {
            if (k == 0) {
                ids[0] = token;
                lps[0] = s.logprob();
                continue;
            }
            int candidate;
            do {
                h = mix(h, k);
                candidate = (int) Long.remainderUnsigned(h, vocab);
            } while (contains(ids, k, candidate));
            ids[k] = candidate;
            lps[k] = (float) Math.log(rest * Math.pow(0.5, k));
        }
        return new Sampler.Logprobs(token, s.logprob(), ids, lps);
    }

    @Override
    public void close() {
        // Nothing to release: the KV values are a heap array.
    }

    /** The scrambled value passed on when this stage's KV disagrees with the previous stage's. */
    private long mismatch(long seqId, int pos, long upstream, long own) {
        long count = ++kvMismatches;
        if (count == 1 || Long.bitCount(count) == 1)
            log.warn("simulated stage [{},{}): the previous stage's value for sequence {} at position {} disagrees with "
                    + "this stage's KV ({} such tokens so far): the stages were sent inconsistent block tables or positions",
                    spec.firstLayer(), spec.lastLayer(), seqId, pos, count);
        return mix(upstream, own);
    }

    private long[] payload(HiddenStates hidden, int tokens) {
        if (hidden == null || hidden.tokens() != tokens || hidden.width() != PAYLOAD_WIDTH)
            throw new IllegalArgumentException("simulated stage " + spec.firstLayer() + ".." + spec.lastLayer()
                    + " needs hidden states [" + tokens + ", " + PAYLOAD_WIDTH + "] from the previous stage, got "
                    + (hidden == null ? "none" : "[" + hidden.tokens() + ", " + hidden.width() + "]"));
        long[] v = new long[2 * tokens];
        ByteBuffer.wrap(hidden.bytes()).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
        return v;
    }

    /** Per token: its value, then the value at its position before, as little-endian longs. */
    private static HiddenStates encode(long[] values, long[] befores) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 2 * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = 0; t < values.length; t++) buf.putLong(values[t]).putLong(befores[t]);
        return new HiddenStates(values.length, PAYLOAD_WIDTH, buf.array());
    }

    /** Keyed as the engine's draw is: by the position sampled, and by the seed unless greedy (where it has no effect). */
    private static long drawKey(long value, int position, SamplingParams sampling) {
        long key = mix(value, position);
        return sampling.greedy() ? key : mix(key, sampling.seed());
    }

    private static boolean contains(int[] ids, int n, int id) {
        for (int i = 0; i < n; i++) if (ids[i] == id) return true;
        return false;
    }

    /** A value in [0, 1) from a hash's top 53 bits. */
    private static double unit(long h) { return (h >>> 11) * 0x1.0p-53; }

    /** SplitMix64's finalizer over {@code a} and {@code b}. */
    static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
