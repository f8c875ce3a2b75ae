/* RMSNorm over float32 rows with a float32 gain (gpt-oss.md §2.2). */
#include "tc_internal.h"

namespace {

/* One block per row: the sum of squares is reduced over the block, then every thread scales its columns. */
__global__ void f32_rmsnorm(const float *x, const float *gain, int cols, float eps, float *out) {
    __shared__ float scratch[32];
    const float *row = x + (size_t)blockIdx.x * cols;
    float sum = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += row[c] * row[c];
    sum = tc_block_sum(sum, scratch);
    float inv = 1.0f / sqrtf(sum / (float)cols + eps);
    // NOTE: every thread has read its columns before the barrier inside tc_block_sum, so out may alias x.
    float *o = out + (size_t)blockIdx.x * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = row[c] * inv * gain[c];
}

}  // namespace

extern "C" tc_status tc_f32_rmsnorm(tc_context *ctx, const float *d_x, const float *d_gain, int rows, int cols,
                                    float eps, float *d_out) {
    TC_REQUIRE(ctx && d_x && d_gain && d_out, "tc_f32_rmsnorm: null argument");
    TC_REQUIRE(rows >= 0 && cols > 0, "tc_f32_rmsnorm: rows=%d cols=%d", rows, cols);
    if (rows == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_rmsnorm, dim3(rows), dim3(256), d_x, d_gain, cols, eps, d_out);
    return tc_launched("tc_f32_rmsnorm");
}
