/*
 * The MoE block of gpt-oss with MXFP4 experts (gpt-oss.md §2.4, §3.5), float32 activations.
 *
 * The data flow, all on the device:
 *   router      logits = x · Rᵀ + b (the bf16 linear kernel)
 *   route       per token: top-k experts (ties to the lower index), softmax over the k; counts tokens per expert
 *   offsets     prefix sums of the counts: where each expert's list of (token, k) pairs starts
 *   scatter     each pair into its expert's list
 *   gate_up     per expert and output unit: W1's gate and up rows against every pair of the expert, the clamped
 *               SwiGLU applied at once
 *   down        per expert and output row: W2's row against every pair's activation, plus the bias
 *   combine     per token: the k expert outputs weighted and added in the order of the k
 * Grouping by expert means an expert's weights are read once per call for all its tokens (in tiles of a few pairs,
 * re-read per tile from cache), and experts no token chose cost one idle block each. Each pair has its own output
 * row, so the order of the lists (set by atomics) never changes a result.
 */
#include "tc_internal.h"

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kGateUpTile = 4;  // pairs per pass in gate_up: two weight rows, so 8 accumulators
constexpr int kDownTile = 8;
constexpr int kMaxTopK = 8;
constexpr int kMaxExperts = 1024;

size_t align(size_t bytes) { return (bytes + 255) / 256 * 256; }

/* The workspace's parts, in order. */
struct Layout {
    size_t logits, choice, weight, counts, offsets, cursor, list, act, y, total;
    Layout(int tokens, int experts, int top_k, int intermediate, int hidden) {
        size_t pairs = (size_t)tokens * top_k, at = 0;
        logits = at;  at += align((size_t)tokens * experts * sizeof(float));
        choice = at;  at += align(pairs * sizeof(int32_t));
        weight = at;  at += align(pairs * sizeof(float));
        counts = at;  at += align((size_t)experts * sizeof(int32_t));
        offsets = at; at += align(((size_t)experts + 1) * sizeof(int32_t));
        cursor = at;  at += align((size_t)experts * sizeof(int32_t));
        list = at;    at += align(pairs * sizeof(int32_t));
        act = at;     at += align(pairs * intermediate * sizeof(float));
        y = at;       at += align(pairs * hidden * sizeof(float));
        total = at;
    }
};

/* An E8M0 scale halved: 2^(s-128). The FP4 codes below are doubled, so the product is the element's value. */
__device__ __forceinline__ float half_scale(unsigned s) {
    if (s == 255) return __uint_as_float(0x7fc00000u);  // NaN, as the format says; gpt-oss files do not use it
    if (s >= 2) return __uint_as_float((s - 1) << 23);
    return s == 1 ? __uint_as_float(0x00400000u) : __uint_as_float(0x00200000u);  // 2^-127, 2^-128: subnormal
}

/* Twice the E2M1 value of a 4-bit code: magnitudes 0, 1, 2, 3, 4, 6, 8, 12, bit 3 the sign. */
__device__ __forceinline__ float twice_fp4(unsigned code) {
    float magnitude = (float)((0xC8643210u >> (4 * (code & 7))) & 0xF);
    return code & 8 ? -magnitude : magnitude;
}

/* The 32 weights of one MXFP4 group: 16 bytes, element 2b in the low nibble of byte b, 2b+1 in the high one. */
__device__ __forceinline__ void dequantize_group(const uint8_t *blocks, unsigned scale_byte, float w[32]) {
    uint4 packed = tc_load16<uint4>(blocks);
    unsigned words[4] = {packed.x, packed.y, packed.z, packed.w};
    float s = half_scale(scale_byte);
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int b = 0; b < 4; b++) {
            unsigned byte = (words[i] >> (8 * b)) & 0xFF;
            w[8 * i + 2 * b] = twice_fp4(byte & 0xF) * s;
            w[8 * i + 2 * b + 1] = twice_fp4(byte >> 4) * s;
        }
    }
}

__device__ __forceinline__ float dot32(const float w[32], const float *x) {
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        float4 v = tc_load16<float4>(x + 4 * i);
        sum += w[4 * i] * v.x + w[4 * i + 1] * v.y + w[4 * i + 2] * v.z + w[4 * i + 3] * v.w;
    }
    return sum;
}

/* One thread per token: the top k of its router logits and their softmax; counts the pairs of each expert. */
__global__ void moe_route(const float *logits, int tokens, int experts, int top_k, int32_t *choice, float *weight,
                          int32_t *counts) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= tokens) return;
    const float *row = logits + (size_t)t * experts;
    int chosen[kMaxTopK];
    for (int j = 0; j < top_k; j++) {
        int best = -1;
        for (int e = 0; e < experts; e++) {
            bool taken = false;
            for (int i = 0; i < j; i++) taken |= chosen[i] == e;
            if (!taken && (best < 0 || row[e] > row[best])) best = e;  // strict: ties keep the lower index
        }
        chosen[j] = best;
    }
    float top = row[chosen[0]];
    for (int j = 1; j < top_k; j++) top = fmaxf(top, row[chosen[j]]);
    float sum = 0.0f, w[kMaxTopK];
    for (int j = 0; j < top_k; j++) sum += (w[j] = expf(row[chosen[j]] - top));
    for (int j = 0; j < top_k; j++) {
        choice[t * top_k + j] = chosen[j];
        weight[t * top_k + j] = w[j] / sum;
        atomicAdd(&counts[chosen[j]], 1);
    }
}

/* One thread: where each expert's pairs start, and a cursor for the scatter. Experts are few (at most 1024). */
__global__ void moe_offsets(const int32_t *counts, int experts, int32_t *offsets, int32_t *cursor) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    int at = 0;
    for (int e = 0; e < experts; e++) {
        offsets[e] = at;
        cursor[e] = at;
        at += counts[e];
    }
    offsets[experts] = at;
}

__global__ void moe_scatter(const int32_t *choice, int pairs, int32_t *cursor, int32_t *list) {
    int pair = blockIdx.x * blockDim.x + threadIdx.x;
    if (pair >= pairs) return;
    list[atomicAdd(&cursor[choice[pair]], 1)] = pair;
}

/*
 * Grid (intermediate / kWarpsPerBlock, experts): each warp computes one SwiGLU unit u of expert blockIdx.y, from
 * W1's gate row 2u and up row 2u+1, for every pair in the expert's list. Lanes stride over the 32-wide groups.
 */
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
moe_gate_up(const float *__restrict__ x, int hidden, int intermediate, int top_k, const uint8_t *__restrict__ blocks,
            const uint8_t *__restrict__ scales, const float *__restrict__ bias, const int32_t *offsets,
            const int32_t *list, float limit, float alpha, float *__restrict__ act) {
    int e = blockIdx.y, lane = threadIdx.x % 32;
    int u = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    int begin = offsets[e], end = offsets[e + 1];
    if (begin == end || u >= intermediate) return;  // uniform per warp
    int groups = hidden / 32;
    size_t gate_row = (size_t)e * 2 * intermediate + 2 * u, up_row = gate_row + 1;
    for (int p0 = begin; p0 < end; p0 += kGateUpTile) {
        int tile = end - p0 < kGateUpTile ? end - p0 : kGateUpTile;
        float gate[kGateUpTile], up[kGateUpTile];
#pragma unroll
        for (int j = 0; j < kGateUpTile; j++) gate[j] = up[j] = 0.0f;
        for (int g = lane; g < groups; g += 32) {
            float wg[32], wu[32];
            dequantize_group(blocks + (gate_row * groups + g) * 16, scales[gate_row * groups + g], wg);
            dequantize_group(blocks + (up_row * groups + g) * 16, scales[up_row * groups + g], wu);
#pragma unroll
            for (int j = 0; j < kGateUpTile; j++) {
                if (j < tile) {
                    const float *xr = x + (size_t)(list[p0 + j] / top_k) * hidden + g * 32;
                    gate[j] += dot32(wg, xr);
                    up[j] += dot32(wu, xr);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < kGateUpTile; j++) {
            if (j >= tile) continue;  // the same for every lane of the warp
            float gs = tc_warp_sum(gate[j]), us = tc_warp_sum(up[j]);
            if (lane == 0) {
                float gv = fminf(gs + bias[gate_row], limit);
                float uv = fmaxf(-limit, fminf(us + bias[up_row], limit));
                act[(size_t)list[p0 + j] * intermediate + u] = gv * (1.0f / (1.0f + expf(-alpha * gv))) * (uv + 1.0f);
            }
        }
    }
}

/* Grid (hidden / kWarpsPerBlock, experts): each warp computes output row r of expert blockIdx.y for its pairs. */
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
moe_down(const float *__restrict__ act, int hidden, int intermediate, const uint8_t *__restrict__ blocks,
         const uint8_t *__restrict__ scales, const float *__restrict__ bias, const int32_t *offsets,
         const int32_t *list, float *__restrict__ y) {
    int e = blockIdx.y, lane = threadIdx.x % 32;
    int r = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    int begin = offsets[e], end = offsets[e + 1];
    if (begin == end || r >= hidden) return;
    int groups = intermediate / 32;
    size_t row = (size_t)e * hidden + r;
    for (int p0 = begin; p0 < end; p0 += kDownTile) {
        int tile = end - p0 < kDownTile ? end - p0 : kDownTile;
        float acc[kDownTile];
#pragma unroll
        for (int j = 0; j < kDownTile; j++) acc[j] = 0.0f;
        for (int g = lane; g < groups; g += 32) {
            float w[32];
            dequantize_group(blocks + (row * groups + g) * 16, scales[row * groups + g], w);
#pragma unroll
            for (int j = 0; j < kDownTile; j++)
                if (j < tile) acc[j] += dot32(w, act + (size_t)list[p0 + j] * intermediate + g * 32);
        }
#pragma unroll
        for (int j = 0; j < kDownTile; j++) {
            if (j >= tile) continue;  // the same for every lane of the warp
            float sum = tc_warp_sum(acc[j]);
            if (lane == 0) y[(size_t)list[p0 + j] * hidden + r] = sum + bias[row];
        }
    }
}

/* One thread per (token, column): the weighted sum of the token's k expert outputs, in the order of the k. */
__global__ void moe_combine(const float *y, const float *weight, int tokens, int hidden, int top_k, float *out) {
    long long total = (long long)tokens * hidden;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long t = i / hidden, c = i % hidden;
        float sum = 0.0f;
        for (int j = 0; j < top_k; j++) sum += weight[t * top_k + j] * y[(size_t)(t * top_k + j) * hidden + c];
        out[i] = sum;
    }
}

}  // namespace

extern "C" size_t tc_moe_workspace_bytes(int tokens, int experts, int top_k, int intermediate, int hidden) {
    if (tokens < 0 || experts <= 0 || top_k <= 0 || intermediate <= 0 || hidden <= 0) return 0;
    return Layout(tokens, experts, top_k, intermediate, hidden).total;
}

extern "C" tc_status tc_f32_mxfp4w_moe(tc_context *ctx, const float *d_x, int tokens, int hidden, int intermediate,
                                       int experts, int top_k, const uint16_t *d_router_w, const float *d_router_bias,
                                       const uint8_t *d_w1_blocks, const uint8_t *d_w1_scales, const float *d_w1_bias,
                                       const uint8_t *d_w2_blocks, const uint8_t *d_w2_scales, const float *d_w2_bias,
                                       float swiglu_limit, float swiglu_alpha, void *d_workspace, float *d_out) {
    TC_REQUIRE(ctx && d_x && d_router_w && d_router_bias && d_w1_blocks && d_w1_scales && d_w1_bias && d_w2_blocks
                   && d_w2_scales && d_w2_bias && d_workspace && d_out,
               "tc_f32_mxfp4w_moe: null argument");
    TC_REQUIRE(tokens >= 0 && hidden > 0 && hidden % 32 == 0 && intermediate > 0 && intermediate % 32 == 0,
               "tc_f32_mxfp4w_moe: tokens=%d hidden=%d intermediate=%d (hidden and intermediate must be multiples of 32)",
               tokens, hidden, intermediate);
    TC_REQUIRE(experts > 0 && experts <= kMaxExperts && top_k > 0 && top_k <= kMaxTopK && top_k <= experts,
               "tc_f32_mxfp4w_moe: experts=%d top_k=%d (at most %d experts, k at most %d)", experts, top_k, kMaxExperts,
               kMaxTopK);
    TC_REQUIRE(d_out != d_x, "tc_f32_mxfp4w_moe: out must not alias x");
    TC_REQUIRE(tc_aligned16(d_x) && tc_aligned16(d_w1_blocks) && tc_aligned16(d_w2_blocks) && tc_aligned16(d_workspace),
               "tc_f32_mxfp4w_moe: x, the expert blocks and the workspace must be 16-byte aligned");
    if (tokens == 0) return TC_OK;
    Layout at(tokens, experts, top_k, intermediate, hidden);
    char *ws = static_cast<char *>(d_workspace);
    float *logits = reinterpret_cast<float *>(ws + at.logits);
    int32_t *choice = reinterpret_cast<int32_t *>(ws + at.choice);
    float *weight = reinterpret_cast<float *>(ws + at.weight);
    int32_t *counts = reinterpret_cast<int32_t *>(ws + at.counts);
    int32_t *offsets = reinterpret_cast<int32_t *>(ws + at.offsets);
    int32_t *cursor = reinterpret_cast<int32_t *>(ws + at.cursor);
    int32_t *list = reinterpret_cast<int32_t *>(ws + at.list);
    float *act = reinterpret_cast<float *>(ws + at.act);
    float *y = reinterpret_cast<float *>(ws + at.y);
    int pairs = tokens * top_k;

    tc_status s = tc_launch_linear(ctx, d_x, tokens, hidden, d_router_w, experts, d_router_bias, logits);
    if (s == TC_OK) s = tc_zero(ctx, counts, (size_t)experts * sizeof(int32_t));
    if (s != TC_OK) return s;
    TC_LAUNCH(ctx, moe_route, dim3(tc_ceil_div(tokens, 128)), dim3(128), logits, tokens, experts, top_k, choice, weight,
              counts);
    if ((s = tc_launched("tc_f32_mxfp4w_moe (route)")) != TC_OK) return s;
    TC_LAUNCH(ctx, moe_offsets, dim3(1), dim3(32), counts, experts, offsets, cursor);
    if ((s = tc_launched("tc_f32_mxfp4w_moe (offsets)")) != TC_OK) return s;
    TC_LAUNCH(ctx, moe_scatter, dim3(tc_ceil_div(pairs, 128)), dim3(128), choice, pairs, cursor, list);
    if ((s = tc_launched("tc_f32_mxfp4w_moe (scatter)")) != TC_OK) return s;
    TC_LAUNCH(ctx, moe_gate_up, dim3(tc_ceil_div(intermediate, kWarpsPerBlock), experts), dim3(kWarpsPerBlock * 32), d_x,
              hidden, intermediate, top_k, d_w1_blocks, d_w1_scales, d_w1_bias, offsets, list, swiglu_limit,
              swiglu_alpha, act);
    if ((s = tc_launched("tc_f32_mxfp4w_moe (gate_up)")) != TC_OK) return s;
    TC_LAUNCH(ctx, moe_down, dim3(tc_ceil_div(hidden, kWarpsPerBlock), experts), dim3(kWarpsPerBlock * 32), act, hidden,
              intermediate, d_w2_blocks, d_w2_scales, d_w2_bias, offsets, list, y);
    if ((s = tc_launched("tc_f32_mxfp4w_moe (down)")) != TC_OK) return s;
    unsigned blocks = tc_ceil_div((long long)tokens * hidden, 256);
    TC_LAUNCH(ctx, moe_combine, dim3(blocks > 4096 ? 4096 : blocks), dim3(256), y, weight, tokens, hidden, top_k, d_out);
    return tc_launched("tc_f32_mxfp4w_moe (combine)");
}
