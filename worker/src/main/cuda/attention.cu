/*
 * Attention with sinks over a paged KV cache (gpt-oss.md §2.3), float32, for any mix of prefill and decode tokens.
 *
 * One block of kThreads threads computes one (token, head) over a range of that token's keys, kThreads keys a tile,
 * with an online softmax: each thread scores one key of the tile, the block takes the tile's maximum and sum, and
 * every thread then accumulates its own output dimensions over the tile's values (coalesced across threads).
 *
 * Split-KV: a decode step has few tokens but each sees many keys, which would leave most of the GPU idle with one
 * block per (token, head). The keys are then split into ranges, one block each, and a second kernel merges the
 * partial (max, sum, accumulator) triples. The sink joins the denominator once, in the merge (or at the end of the
 * single block when there is no split), never per range.
 */
#include "tc_internal.h"

namespace {

constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 256;
constexpr int kDimsPerThread = kMaxHeadDim / kThreads;
constexpr int kKeysPerSplit = 256;   // a split is worth its merge only past a few tiles
constexpr int kMaxSplits = 64;
constexpr long long kMaxSplitBlocks = 16384;  // bounds the workspace: 16384 partials of kMaxHeadDim + 2 floats
constexpr int kPartialStride = kMaxHeadDim + 2;
constexpr int kGqaTile = 32;            // keys a tile in the grouped kernel: a lane per key
constexpr int kGqaMaxHeadDim = 128;
constexpr int kGroupFloats = 2048;      // query values of one KV head's group the grouped kernel holds (group · head_dim)
constexpr int kMaxGroup = kGroupFloats / 32;

int splits_for(int tokens, int heads, int max_keys) {
    long long pairs = (long long)tokens * heads;
    if (pairs <= 0 || max_keys <= kKeysPerSplit) return 1;
    long long splits = (max_keys + kKeysPerSplit - 1) / kKeysPerSplit;
    if (splits > kMaxSplits) splits = kMaxSplits;
    if (pairs * splits > kMaxSplitBlocks) splits = kMaxSplitBlocks / pairs;
    return splits < 1 ? 1 : (int)splits;
}

struct Params {
    const float *q;
    int heads, kv_heads, head_dim;
    const float *k_cache, *v_cache;
    const int32_t *positions, *sequence_of, *table_offsets, *block_tables;
    int block_size;
    const float *sinks;
    int window;
    float scale;
    float *partials;  // [tokens · heads, splits, kPartialStride] when split
    float *out;
};

__global__ void __launch_bounds__(kThreads) f32_paged_attention_sinks(Params a) {
    __shared__ float q_s[kMaxHeadDim];
    __shared__ float p_s[kThreads];
    __shared__ int slot_s[kThreads];
    __shared__ float scratch[32];

    int pair = blockIdx.x, split = blockIdx.y, splits = gridDim.y;
    int t = pair / a.heads, h = pair % a.heads;
    int pos = a.positions[t];
    int first = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
    int count = pos - first + 1;
    int chunk = (count + splits - 1) / splits;
    int begin = first + split * chunk;
    int end = begin + chunk - 1 < pos ? begin + chunk - 1 : pos;  // inclusive; begin > end: an empty range
    const int32_t *table = a.block_tables + a.table_offsets[a.sequence_of[t]];
    int width = a.kv_heads * a.head_dim;
    int kv_offset = h / (a.heads / a.kv_heads) * a.head_dim;

    const float *q_row = a.q + ((size_t)t * a.heads + h) * a.head_dim;
    for (int d = threadIdx.x; d < a.head_dim; d += kThreads) q_s[d] = q_row[d];
    __syncthreads();

    float m = -INFINITY, l = 0.0f;
    float acc[kDimsPerThread];
#pragma unroll
    for (int j = 0; j < kDimsPerThread; j++) acc[j] = 0.0f;

    for (int start = begin; start <= end; start += kThreads) {
        int p = start + threadIdx.x;
        float score = -INFINITY;
        int slot = 0;
        if (p <= end) {
            slot = table[p / a.block_size] * a.block_size + p % a.block_size;
            const float *k_row = a.k_cache + (size_t)slot * width + kv_offset;
            float dot = 0.0f;
            for (int i = 0; i < a.head_dim; i++) dot += q_s[i] * k_row[i];
            score = dot * a.scale;
        }
        float m_new = fmaxf(m, tc_block_max(score, scratch));  // finite: the tile holds at least key `start`
        float correction = expf(m - m_new);                     // 0 on the first tile (m = -inf)
        float e = p <= end ? expf(score - m_new) : 0.0f;
        p_s[threadIdx.x] = e;
        slot_s[threadIdx.x] = slot;
        l = l * correction + tc_block_sum(e, scratch);  // its barriers also publish p_s and slot_s
        int n = end - start + 1 < kThreads ? end - start + 1 : kThreads;
#pragma unroll
        for (int j = 0; j < kDimsPerThread; j++) {
            int d = threadIdx.x + j * kThreads;
            if (d < a.head_dim) {
                float sum = acc[j] * correction;
                for (int k = 0; k < n; k++) sum += p_s[k] * a.v_cache[(size_t)slot_s[k] * width + kv_offset + d];
                acc[j] = sum;
            }
        }
        m = m_new;
        __syncthreads();  // every thread is done with p_s and slot_s before the next tile overwrites them
    }

    if (splits == 1) {
        float sink = a.sinks[h];
        float top = fmaxf(m, sink);
        float factor = expf(m - top) / (l * expf(m - top) + expf(sink - top));
        float *o = a.out + ((size_t)t * a.heads + h) * a.head_dim;
#pragma unroll
        for (int j = 0; j < kDimsPerThread; j++) {
            int d = threadIdx.x + j * kThreads;
            if (d < a.head_dim) o[d] = acc[j] * factor;
        }
    } else {
        float *partial = a.partials + ((size_t)pair * splits + split) * kPartialStride;
        if (threadIdx.x == 0) {
            partial[0] = m;  // -inf and 0 for an empty range: it then weighs nothing in the merge
            partial[1] = l;
        }
#pragma unroll
        for (int j = 0; j < kDimsPerThread; j++) {
            int d = threadIdx.x + j * kThreads;
            if (d < a.head_dim) partial[2 + d] = acc[j];
        }
    }
}

/*
 * The grouped-query form, used when a KV head's query heads fit (group · head_dim <= kGroupFloats, head_dim <= 128):
 * one block per (token, KV head, split) serves all `group` query heads that read that KV head, so each key and value
 * row is read from memory once per token instead of once per query head (8 times less traffic for gpt-oss). Keys come
 * in tiles of 32, staged in shared memory: K for the scores (each thread a few (head, key) dot products), then V in the
 * same buffer for the outputs. Each warp keeps the online softmax of some heads, a lane per key of the tile. The
 * partials and the finish are the per-head kernel's, per query head.
 */
__global__ void __launch_bounds__(kThreads) f32_paged_attention_sinks_gqa(Params a) {
    __shared__ float q_s[kGroupFloats];                  // [group][head_dim]
    __shared__ float kv_s[kGqaTile * (kGqaMaxHeadDim + 1)];  // [key][head_dim + 1]: K, then V
    // NOTE: rows padded by one float: in the scores a warp's lanes read the same column of 32 different keys, which
    // unpadded rows of 32 or 64 floats would put in one shared-memory bank (a 32-way conflict).
    __shared__ float p_s[kGroupFloats / 32 * kGqaTile];   // [group][key]: scores, then weights
    __shared__ int slot_s[kGqaTile];
    __shared__ float m_s[kMaxGroup], l_s[kMaxGroup], correction_s[kMaxGroup];

    int split = blockIdx.y, splits = gridDim.y;
    int t = blockIdx.x / a.kv_heads, kv = blockIdx.x % a.kv_heads;
    int group = a.heads / a.kv_heads, hd = a.head_dim, outputs = group * hd;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = kThreads / 32;
    int pos = a.positions[t];
    int first = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
    int count = pos - first + 1;
    int chunk = (count + splits - 1) / splits;
    int begin = first + split * chunk;
    int end = begin + chunk - 1 < pos ? begin + chunk - 1 : pos;
    const int32_t *table = a.block_tables + a.table_offsets[a.sequence_of[t]];
    int width = a.kv_heads * hd, kv_offset = kv * hd;

    const float *q_rows = a.q + ((size_t)t * a.heads + (size_t)kv * group) * hd;  // the group's heads are adjacent
    for (int i = threadIdx.x; i < outputs; i += kThreads) q_s[i] = q_rows[i];
    for (int g = threadIdx.x; g < group; g += kThreads) {
        m_s[g] = -INFINITY;
        l_s[g] = 0.0f;
    }
    float acc[kGroupFloats / kThreads];
#pragma unroll
    for (int j = 0; j < kGroupFloats / kThreads; j++) acc[j] = 0.0f;
    __syncthreads();

    for (int start = begin; start <= end; start += kGqaTile) {
        int n = end - start + 1 < kGqaTile ? end - start + 1 : kGqaTile;
        if ((int)threadIdx.x < n) {
            int p = start + threadIdx.x;
            slot_s[threadIdx.x] = table[p / a.block_size] * a.block_size + p % a.block_size;
        }
        __syncthreads();
        int row = hd + 1;
        for (int i = threadIdx.x; i < n * hd; i += kThreads)
            kv_s[i / hd * row + i % hd] = a.k_cache[(size_t)slot_s[i / hd] * width + kv_offset + i % hd];
        __syncthreads();
        for (int i = threadIdx.x; i < group * kGqaTile; i += kThreads) {
            int g = i / kGqaTile, j = i % kGqaTile;
            float score = -INFINITY;
            if (j < n) {
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot += q_s[g * hd + d] * kv_s[j * row + d];
                score = dot * a.scale;
            }
            p_s[i] = score;
        }
        __syncthreads();
        for (int g = warp; g < group; g += warps) {  // the same heads for every lane of a warp
            float score = p_s[g * kGqaTile + lane];
            float m_new = fmaxf(m_s[g], tc_warp_max(score));  // finite: key `start` is in the tile
            float e = lane < n ? expf(score - m_new) : 0.0f;
            p_s[g * kGqaTile + lane] = e;
            float sum = tc_warp_sum(e);
            if (lane == 0) {
                float correction = expf(m_s[g] - m_new);  // 0 on the first tile
                correction_s[g] = correction;
                l_s[g] = l_s[g] * correction + sum;
                m_s[g] = m_new;
            }
        }
        __syncthreads();  // the weights are in p_s, and every thread is done reading K from kv_s
        for (int i = threadIdx.x; i < n * hd; i += kThreads)
            kv_s[i / hd * row + i % hd] = a.v_cache[(size_t)slot_s[i / hd] * width + kv_offset + i % hd];
        __syncthreads();
#pragma unroll
        for (int j = 0; j < kGroupFloats / kThreads; j++) {
            int o = threadIdx.x + j * kThreads;
            if (o < outputs) {
                int g = o / hd, d = o % hd;
                float sum = acc[j] * correction_s[g];
                for (int k = 0; k < n; k++) sum += p_s[g * kGqaTile + k] * kv_s[k * row + d];
                acc[j] = sum;
            }
        }
        __syncthreads();  // before the next tile overwrites slot_s, kv_s and p_s
    }

#pragma unroll
    for (int j = 0; j < kGroupFloats / kThreads; j++) {
        int o = threadIdx.x + j * kThreads;
        if (o >= outputs) continue;
        int g = o / hd, d = o % hd, h = kv * group + g;
        float m = m_s[g], l = l_s[g];
        if (splits == 1) {
            float sink = a.sinks[h];
            float top = fmaxf(m, sink);
            float factor = expf(m - top) / (l * expf(m - top) + expf(sink - top));
            a.out[((size_t)t * a.heads + h) * hd + d] = acc[j] * factor;
        } else {
            float *partial = a.partials + (((size_t)t * a.heads + h) * splits + split) * kPartialStride;
            if (d == 0) {
                partial[0] = m;  // -inf and 0 for an empty range
                partial[1] = l;
            }
            partial[2 + d] = acc[j];
        }
    }
}

/* One block per (token, head): rescales the partials to a common maximum, adds the sink once, divides. */
__global__ void __launch_bounds__(kThreads) f32_attention_merge(Params a, int splits) {
    int pair = blockIdx.x, h = pair % a.heads;
    const float *partials = a.partials + (size_t)pair * splits * kPartialStride;
    float sink = a.sinks[h];
    float top = sink;
    for (int s = 0; s < splits; s++) top = fmaxf(top, partials[s * kPartialStride]);
    float denominator = expf(sink - top);
    for (int s = 0; s < splits; s++)
        denominator += partials[s * kPartialStride + 1] * expf(partials[s * kPartialStride] - top);
    float *o = a.out + (size_t)pair * a.head_dim;
    for (int d = threadIdx.x; d < a.head_dim; d += kThreads) {
        float sum = 0.0f;
        for (int s = 0; s < splits; s++)
            sum += partials[s * kPartialStride + 2 + d] * expf(partials[s * kPartialStride] - top);
        o[d] = sum / denominator;
    }
}

}  // namespace

extern "C" size_t tc_attention_workspace_bytes(int tokens, int heads, int max_keys) {
    int splits = splits_for(tokens, heads, max_keys);
    return splits == 1 ? 0 : (size_t)tokens * heads * splits * kPartialStride * sizeof(float);
}

extern "C" tc_status tc_f32_paged_attention(tc_context *ctx, const float *d_q, int tokens, int heads, int kv_heads,
                                            int head_dim, const float *d_k_cache, const float *d_v_cache,
                                            const int32_t *d_positions, const int32_t *d_sequence_of,
                                            const int32_t *d_table_offsets, const int32_t *d_block_tables,
                                            int block_size, const float *d_sinks, int window, float scale,
                                            int max_position, void *d_workspace, float *d_out) {
    TC_REQUIRE(ctx && d_q && d_k_cache && d_v_cache && d_positions && d_sequence_of && d_table_offsets
                   && d_block_tables && d_sinks && d_out,
               "tc_f32_paged_attention: null argument");
    TC_REQUIRE(tokens >= 0 && heads > 0 && kv_heads > 0 && heads % kv_heads == 0,
               "tc_f32_paged_attention: tokens=%d heads=%d kv_heads=%d (heads must be a multiple of kv_heads)", tokens,
               heads, kv_heads);
    TC_REQUIRE(head_dim > 0 && head_dim % 32 == 0 && head_dim <= kMaxHeadDim,
               "tc_f32_paged_attention: head_dim %d is not a multiple of 32 up to %d", head_dim, kMaxHeadDim);
    TC_REQUIRE(block_size > 0 && window >= 0 && max_position >= 0,
               "tc_f32_paged_attention: block_size=%d window=%d max_position=%d", block_size, window, max_position);
    if (tokens == 0) return TC_OK;
    int max_keys = window > 0 && window < max_position + 1 ? window : max_position + 1;
    int splits = splits_for(tokens, heads, max_keys);
    // NOTE: the workspace is sized by the caller from max_position + 1, the window ignored; a window only lowers
    // the splits needed, so that size always suffices.
    TC_REQUIRE(splits == 1 || d_workspace != nullptr, "tc_f32_paged_attention: a split over %d ranges needs a workspace",
               splits);
    Params p{d_q, heads, kv_heads, head_dim, d_k_cache, d_v_cache, d_positions, d_sequence_of, d_table_offsets,
             d_block_tables, block_size, d_sinks, window, scale, static_cast<float *>(d_workspace), d_out};
    // NOTE: the grouped kernel when the group fits its shared memory (gpt-oss: 8 heads of 64 a KV head), else a block
    // per query head. Both write the same partials, so the merge and the workspace are the same.
    int group = heads / kv_heads;
    if (group * head_dim <= kGroupFloats && head_dim <= kGqaMaxHeadDim && group <= kMaxGroup)
        TC_LAUNCH(ctx, f32_paged_attention_sinks_gqa, dim3(tokens * kv_heads, splits), dim3(kThreads), p);
    else
        TC_LAUNCH(ctx, f32_paged_attention_sinks, dim3(tokens * heads, splits), dim3(kThreads), p);
    tc_status s = tc_launched("tc_f32_paged_attention");
    if (s != TC_OK || splits == 1) return s;
    TC_LAUNCH(ctx, f32_attention_merge, dim3(tokens * heads), dim3(kThreads), p, splits);
    return tc_launched("tc_f32_paged_attention (merge)");
}
