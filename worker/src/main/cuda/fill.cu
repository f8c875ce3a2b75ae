/*
 * Synthetic weights made on the device, for benchmarks of full-size shapes: a counter-based hash of (seed, index),
 * so the values do not depend on the launch shape and a range can be regenerated anywhere.
 */
#include "tc_internal.h"

namespace {

__device__ __forceinline__ uint64_t mix(uint64_t z) {  // SplitMix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ uint64_t hash(uint64_t seed, size_t i) { return mix(seed * 0x9e3779b97f4a7c15ULL + i + 1); }

__global__ void bf16_fill_uniform(uint16_t *dst, size_t n, uint64_t seed, float scale) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float u = (float)(hash(seed, i) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
        float v = (2.0f * u - 1.0f) * scale;
        unsigned bits = __float_as_uint(v);
        bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even
        dst[i] = (uint16_t)(bits >> 16);
    }
}

__global__ void u8_fill_uniform(uint8_t *dst, size_t n, uint64_t seed, int lo, int span) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dst[i] = (uint8_t)(lo + (int)(hash(seed, i) % (uint64_t)span));
}

unsigned grid_for(size_t n) {
    unsigned blocks = tc_ceil_div((long long)n, 256);
    return blocks > 8192 ? 8192 : (blocks == 0 ? 1 : blocks);
}

}  // namespace

extern "C" tc_status tc_bf16_fill_uniform(tc_context *ctx, uint16_t *d_dst, size_t n, uint64_t seed, float scale) {
    TC_REQUIRE(ctx && d_dst, "tc_bf16_fill_uniform: null argument");
    if (n == 0) return TC_OK;
    TC_LAUNCH(ctx, bf16_fill_uniform, dim3(grid_for(n)), dim3(256), d_dst, n, seed, scale);
    return tc_launched("tc_bf16_fill_uniform");
}

extern "C" tc_status tc_u8_fill_uniform(tc_context *ctx, uint8_t *d_dst, size_t n, uint64_t seed, int lo, int hi) {
    TC_REQUIRE(ctx && d_dst, "tc_u8_fill_uniform: null argument");
    TC_REQUIRE(0 <= lo && lo <= hi && hi <= 255, "tc_u8_fill_uniform: the range [%d, %d] is not within [0, 255]", lo, hi);
    if (n == 0) return TC_OK;
    TC_LAUNCH(ctx, u8_fill_uniform, dim3(grid_for(n)), dim3(256), d_dst, n, seed, lo, hi - lo + 1);
    return tc_launched("tc_u8_fill_uniform");
}
