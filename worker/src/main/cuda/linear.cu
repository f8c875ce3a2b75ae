/*
 * y = x · Wᵀ + bias with float32 activations and bf16 weights [out_features, in_features].
 *
 * Each warp owns one output feature (one weight row) and computes it for a tile of kTokenTile tokens at once, so a
 * weight row is read once per tile: at decode batch sizes (up to 8 tokens a tile) every weight is read once per step,
 * which is what decode's speed is bound by. Lanes stride over the row 8 bf16 (16 bytes) at a time where the width
 * allows, and the tile's partial sums are reduced across the warp at the end.
 */
#include "tc_internal.h"

namespace {

constexpr int kTokenTile = 8;
constexpr int kWarpsPerBlock = 8;
constexpr unsigned kMaxTileRows = 4;

__global__ void __launch_bounds__(kWarpsPerBlock * 32)
f32_bf16w_linear(const float *__restrict__ x, int rows, int in, const uint16_t *__restrict__ w, int out_features,
                 const float *__restrict__ bias, float *__restrict__ y, bool vectorised) {
    int lane = threadIdx.x % 32;
    int o = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    if (o >= out_features) return;  // the whole warp leaves together
    const uint16_t *wrow = w + (size_t)o * in;
    for (int t0 = blockIdx.y * kTokenTile; t0 < rows; t0 += gridDim.y * kTokenTile) {
        int tile = rows - t0 < kTokenTile ? rows - t0 : kTokenTile;
        float acc[kTokenTile];
#pragma unroll
        for (int j = 0; j < kTokenTile; j++) acc[j] = 0.0f;
        if (vectorised) {
            for (int c = lane * 8; c < in; c += 32 * 8) {
                float wv[8];
                tc_bf16x8(tc_load16<uint4>(wrow + c), wv);
#pragma unroll
                for (int j = 0; j < kTokenTile; j++) {
                    if (j < tile) {
                        const float *xr = x + (size_t)(t0 + j) * in + c;
                        acc[j] += tc_dot8(wv, tc_load16<float4>(xr), tc_load16<float4>(xr + 4));
                    }
                }
            }
        } else {
            for (int c = lane; c < in; c += 32) {
                float wv = tc_bf16(wrow[c]);
#pragma unroll
                for (int j = 0; j < kTokenTile; j++)
                    if (j < tile) acc[j] += wv * x[(size_t)(t0 + j) * in + c];
            }
        }
        float b = bias != nullptr ? bias[o] : 0.0f;
#pragma unroll
        for (int j = 0; j < kTokenTile; j++) {
            if (j < tile) {  // the same for every lane: the whole warp takes part in each sum
                float sum = tc_warp_sum(acc[j]);
                if (lane == 0) y[(size_t)(t0 + j) * out_features + o] = sum + b;
            }
        }
    }
}

}  // namespace

tc_status tc_launch_linear(tc_context *ctx, const float *x, int rows, int in_features, const uint16_t *w,
                           int out_features, const float *bias, float *y) {
    if (rows == 0) return TC_OK;
    // NOTE: few token tiles per grid row: each warp then loops over the tiles with its weight row hot in L1/L2, so the
    // matrix streams from memory about gridDim.y times a call, not once per 8 tokens (a 256-token decode step would
    // otherwise read the 1.16 GB unembedding 32 times).
    unsigned tiles = tc_ceil_div(rows, kTokenTile);
    dim3 grid(tc_ceil_div(out_features, kWarpsPerBlock), tiles > kMaxTileRows ? kMaxTileRows : tiles);
    // 16-byte loads where rows are whole 16-byte units and both matrices start aligned; scalar loads otherwise.
    bool vectorised = in_features % 8 == 0 && tc_aligned16(x) && tc_aligned16(w);
    TC_LAUNCH(ctx, f32_bf16w_linear, grid, dim3(kWarpsPerBlock * 32), x, rows, in_features, w, out_features, bias, y,
              vectorised);
    return tc_launched("tc_f32_bf16w_linear");
}

extern "C" tc_status tc_f32_bf16w_linear(tc_context *ctx, const float *d_x, int rows, int in_features,
                                         const uint16_t *d_w, int out_features, const float *d_bias, float *d_y) {
    TC_REQUIRE(ctx && d_x && d_w && d_y, "tc_f32_bf16w_linear: null argument");
    TC_REQUIRE(rows >= 0 && in_features > 0 && out_features > 0, "tc_f32_bf16w_linear: rows=%d in=%d out=%d", rows,
               in_features, out_features);
    TC_REQUIRE(d_y != d_x, "tc_f32_bf16w_linear: y must not alias x");
    return tc_launch_linear(ctx, d_x, rows, in_features, d_w, out_features, d_bias, d_y);
}
