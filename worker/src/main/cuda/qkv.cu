/*
 * The attention block's input projections in one launch: q, k and v = x · Wᵀ + b for the step's tokens, with YaRN's
 * rotary embedding applied to q and k as they are written (gpt-oss.md §2.3), instead of three linears and two rope
 * passes (five launches, and q and k written and read again).
 *
 * Each warp owns one unit of output: for q and k a rotary pair, the rows i and i + head_dim/2 of one head, which it
 * computes for a tile of tokens and rotates in registers; for v two adjacent rows. The dot products follow the
 * linear kernel's order (lanes stride 8 bf16 at a time, then a warp sum), so results match tc_f32_bf16w_linear
 * followed by tc_f32_rope.
 */
#include "tc_internal.h"

namespace {

constexpr int kTokenTile = 8;
constexpr int kWarpsPerBlock = 8;
constexpr unsigned kMaxTileRows = 4;

struct Projection {
    const uint16_t *w;   // [rows, in]
    const float *bias;   // [rows] or null
    float *out;          // [tokens, rows]
    int rows;
};

/* Two rows of one projection for a tile of tokens: acc_a[j] = x[t0 + j] · w[ra], acc_b[j] = x[t0 + j] · w[rb]. */
__device__ __forceinline__ void two_rows(const float *__restrict__ x, int in, const uint16_t *__restrict__ wa,
                                         const uint16_t *__restrict__ wb, int t0, int tile, bool vectorised,
                                         float acc_a[kTokenTile], float acc_b[kTokenTile]) {
    int lane = threadIdx.x % 32;
#pragma unroll
    for (int j = 0; j < kTokenTile; j++) acc_a[j] = acc_b[j] = 0.0f;
    if (vectorised) {
        for (int c = lane * 8; c < in; c += 32 * 8) {
            float a[8], b[8];
            tc_bf16x8(tc_load16<uint4>(wa + c), a);
            tc_bf16x8(tc_load16<uint4>(wb + c), b);
#pragma unroll
            for (int j = 0; j < kTokenTile; j++) {
                if (j < tile) {
                    const float *xr = x + (size_t)(t0 + j) * in + c;
                    float4 u = tc_load16<float4>(xr), v = tc_load16<float4>(xr + 4);
                    acc_a[j] += tc_dot8(a, u, v);
                    acc_b[j] += tc_dot8(b, u, v);
                }
            }
        }
    } else {
        for (int c = lane; c < in; c += 32) {
            float a = tc_bf16(wa[c]), b = tc_bf16(wb[c]);
#pragma unroll
            for (int j = 0; j < kTokenTile; j++)
                if (j < tile) {
                    float xv = x[(size_t)(t0 + j) * in + c];
                    acc_a[j] += a * xv;
                    acc_b[j] += b * xv;
                }
        }
    }
}

/*
 * Grid (units / kWarpsPerBlock, token-tile rows). Units: q's rotary pairs (q_rows / 2), then k's (k_rows / 2), then
 * v's row pairs (ceil(v_rows / 2)).
 */
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
f32_bf16w_qkv_rope(const float *__restrict__ x, int rows, int in, Projection q, Projection k, Projection v, int head_dim,
                   const int32_t *positions, const float *inv_freq, float concentration, bool vectorised) {
    int lane = threadIdx.x % 32;
    int unit = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    int half = head_dim / 2, q_units = q.rows / 2, k_units = k.rows / 2, v_units = (v.rows + 1) / 2;
    if (unit >= q_units + k_units + v_units) return;  // the whole warp leaves together
    // NOTE: the chosen projection's fields are picked one by one: a reference to one of the three parameter structs
    // would put them all in local memory.
    int which = unit < q_units ? 0 : unit < q_units + k_units ? 1 : 2;
    const uint16_t *w = which == 0 ? q.w : which == 1 ? k.w : v.w;
    const float *bias = which == 0 ? q.bias : which == 1 ? k.bias : v.bias;
    float *out = which == 0 ? q.out : which == 1 ? k.out : v.out;
    int out_rows = which == 0 ? q.rows : which == 1 ? k.rows : v.rows;
    bool rotary = which < 2;
    int ra, rb, i = 0;
    if (rotary) {
        int u = unit < q_units ? unit : unit - q_units;
        int head = u / half;
        i = u % half;
        ra = head * head_dim + i;
        rb = ra + half;
    } else {
        ra = 2 * (unit - q_units - k_units);
        rb = ra + 1 < v.rows ? ra + 1 : ra;  // an odd last row computes itself twice and writes once
    }
    const uint16_t *wa = w + (size_t)ra * in, *wb = w + (size_t)rb * in;
    float ba = bias != nullptr ? bias[ra] : 0.0f, bb = bias != nullptr ? bias[rb] : 0.0f;
    for (int t0 = blockIdx.y * kTokenTile; t0 < rows; t0 += gridDim.y * kTokenTile) {
        int tile = rows - t0 < kTokenTile ? rows - t0 : kTokenTile;
        float acc_a[kTokenTile], acc_b[kTokenTile];
        two_rows(x, in, wa, wb, t0, tile, vectorised, acc_a, acc_b);
#pragma unroll
        for (int j = 0; j < kTokenTile; j++) {
            if (j >= tile) continue;  // the same for every lane of the warp
            float a = tc_warp_sum(acc_a[j]) + ba, b = tc_warp_sum(acc_b[j]) + bb;
            if (lane != 0) continue;
            float *o = out + (size_t)(t0 + j) * out_rows;
            if (rotary) {
                float angle = (float)positions[t0 + j] * inv_freq[i];
                float s, c;
                sincosf(angle, &s, &c);
                c *= concentration;
                s *= concentration;
                o[ra] = a * c - b * s;
                o[rb] = b * c + a * s;
            } else {
                o[ra] = a;
                if (rb != ra) o[rb] = b;
            }
        }
    }
}

}  // namespace

extern "C" tc_status tc_f32_bf16w_qkv_rope(tc_context *ctx, const float *d_x, int rows, int in_features,
                                           const uint16_t *d_wq, const float *d_bq, int q_rows, const uint16_t *d_wk,
                                           const float *d_bk, int k_rows, const uint16_t *d_wv, const float *d_bv,
                                           int v_rows, int head_dim, const int32_t *d_positions,
                                           const float *d_inv_freq, float concentration, float *d_q, float *d_k,
                                           float *d_v) {
    TC_REQUIRE(ctx && d_x && d_wq && d_wk && d_wv && d_positions && d_inv_freq && d_q && d_k && d_v,
               "tc_f32_bf16w_qkv_rope: null argument");
    TC_REQUIRE(rows >= 0 && in_features > 0 && v_rows > 0 && head_dim > 0 && head_dim % 2 == 0 && q_rows > 0
                   && q_rows % head_dim == 0 && k_rows > 0 && k_rows % head_dim == 0,
               "tc_f32_bf16w_qkv_rope: rows=%d in=%d q=%d k=%d v=%d head_dim=%d (q and k must be whole heads of an "
               "even width)", rows, in_features, q_rows, k_rows, v_rows, head_dim);
    TC_REQUIRE(d_q != d_x && d_k != d_x && d_v != d_x, "tc_f32_bf16w_qkv_rope: outputs must not alias x");
    if (rows == 0) return TC_OK;
    long long units = q_rows / 2 + k_rows / 2 + (v_rows + 1) / 2;
    unsigned tiles = tc_ceil_div(rows, kTokenTile);
    dim3 grid(tc_ceil_div(units, kWarpsPerBlock), tiles > kMaxTileRows ? kMaxTileRows : tiles);
    bool vectorised = in_features % 8 == 0 && tc_aligned16(d_x) && tc_aligned16(d_wq) && tc_aligned16(d_wk)
                      && tc_aligned16(d_wv);
    Projection q{d_wq, d_bq, d_q, q_rows}, k{d_wk, d_bk, d_k, k_rows}, v{d_wv, d_bv, d_v, v_rows};
    TC_LAUNCH(ctx, f32_bf16w_qkv_rope, grid, dim3(kWarpsPerBlock * 32), d_x, rows, in_features, q, k, v, head_dim,
              d_positions, d_inv_freq, concentration, vectorised);
    return tc_launched("tc_f32_bf16w_qkv_rope");
}
