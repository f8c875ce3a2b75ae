/* Element-wise float32 ops: the residual add. */
#include "tc_internal.h"

namespace {

__global__ void f32_add(float *x, const float *y, size_t n) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] += y[i];
}

}  // namespace

extern "C" tc_status tc_f32_add(tc_context *ctx, float *d_x, const float *d_y, size_t n) {
    TC_REQUIRE(ctx && d_x && d_y, "tc_f32_add: null argument");
    if (n == 0) return TC_OK;
    unsigned blocks = tc_ceil_div((long long)n, 256);
    if (blocks > 4096) blocks = 4096;
    TC_LAUNCH(ctx, f32_add, dim3(blocks), dim3(256), d_x, d_y, n);
    return tc_launched("tc_f32_add");
}
