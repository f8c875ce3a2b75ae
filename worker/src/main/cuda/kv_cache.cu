/* Writing a step's keys and values into one layer of the paged KV cache. */
#include "tc_internal.h"

namespace {

/* One block per token: its key and value rows go to its slot. */
__global__ void f32_kv_write(const float *k, const float *v, int width, const int32_t *slots, float *k_cache,
                             float *v_cache) {
    int t = blockIdx.x;
    size_t dst = (size_t)slots[t] * width, src = (size_t)t * width;
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        k_cache[dst + c] = k[src + c];
        v_cache[dst + c] = v[src + c];
    }
}

}  // namespace

extern "C" tc_status tc_f32_kv_write(tc_context *ctx, const float *d_k, const float *d_v, int rows, int width,
                                     const int32_t *d_slots, float *d_k_cache, float *d_v_cache) {
    TC_REQUIRE(ctx && d_k && d_v && d_slots && d_k_cache && d_v_cache, "tc_f32_kv_write: null argument");
    TC_REQUIRE(rows >= 0 && width > 0, "tc_f32_kv_write: rows=%d width=%d", rows, width);
    if (rows == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_kv_write, dim3(rows), dim3(128), d_k, d_v, width, d_slots, d_k_cache, d_v_cache);
    return tc_launched("tc_f32_kv_write");
}
