/* Rotary position embedding with YaRN's frequencies and attention factor (gpt-oss.md §2.3), in place. */
#include "tc_internal.h"

namespace {

/* One thread per (token, head, i < head_dim/2): rotates the pair (i, i + head_dim/2). */
__global__ void f32_rope(float *x, int rows, int cols, int head_dim, const int32_t *positions, const float *inv_freq,
                         float concentration) {
    int half = head_dim / 2, heads = cols / head_dim;
    long long total = (long long)rows * heads * half;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (long long)gridDim.x * blockDim.x) {
        int i = (int)(k % half);
        long long th = k / half;
        int h = (int)(th % heads), t = (int)(th / heads);
        float angle = (float)positions[t] * inv_freq[i];
        float s, c;
        sincosf(angle, &s, &c);  // the accurate version: positions reach 131072 radians and beyond
        c *= concentration;
        s *= concentration;
        float *head = x + (size_t)t * cols + (size_t)h * head_dim;
        float x1 = head[i], x2 = head[i + half];
        head[i] = x1 * c - x2 * s;
        head[i + half] = x2 * c + x1 * s;
    }
}

}  // namespace

extern "C" tc_status tc_f32_rope(tc_context *ctx, float *d_x, int rows, int cols, int head_dim,
                                 const int32_t *d_positions, const float *d_inv_freq, float concentration) {
    TC_REQUIRE(ctx && d_x && d_positions && d_inv_freq, "tc_f32_rope: null argument");
    TC_REQUIRE(rows >= 0 && head_dim > 0 && head_dim % 2 == 0 && cols % head_dim == 0,
               "tc_f32_rope: rows=%d cols=%d head_dim=%d (cols must be whole heads of an even width)", rows, cols, head_dim);
    long long total = (long long)rows * (cols / head_dim) * (head_dim / 2);
    if (total == 0) return TC_OK;
    unsigned blocks = tc_ceil_div(total, 256);
    TC_LAUNCH(ctx, f32_rope, dim3(blocks > 4096 ? 4096 : blocks), dim3(256), d_x, rows, cols, head_dim, d_positions,
              d_inv_freq, concentration);
    return tc_launched("tc_f32_rope");
}
