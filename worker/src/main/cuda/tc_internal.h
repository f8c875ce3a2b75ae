/*
 * What the kernel files share: the context, error reporting, the launch macro and small device helpers.
 * Every .cu file includes this header and nothing CUDA-specific besides; the host build (host_emulation.h) supplies
 * the same names on the CPU.
 */
#ifndef TESSERA_TC_INTERNAL_H
#define TESSERA_TC_INTERNAL_H

#include "tessera_cuda.h"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define TC_LAUNCH(ctx, kernel, grid, block, ...) (kernel<<<(grid), (block), 0, (cudaStream_t)(ctx)->stream>>>(__VA_ARGS__))
#else
#include "host_emulation.h"
#define TC_LAUNCH(ctx, kernel, grid, block, ...) \
    ::tc_emu::launch(#kernel, (grid), (block), [&] { kernel(__VA_ARGS__); })
#endif

#define TC_ABI_VERSION 2

/* Pinned host buffers that small host-to-device copies go through (the CUDA build; see device_runtime.cu). */
#define TC_STAGING_SLOTS 4
#define TC_STAGING_SLOT_BYTES ((size_t)1 << 20)

struct tc_context {
    int device;
    void *stream;                          // cudaStream_t in the CUDA build, unused in the host build
    void *staging[TC_STAGING_SLOTS];       // pinned host memory, CUDA build only
    void *staging_done[TC_STAGING_SLOTS];  // cudaEvent_t: the copy out of the slot has finished
    int next_slot;
};

/* Records `message` (printf-style) as the calling thread's last error and returns `status`. */
tc_status tc_fail(tc_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* After a kernel launch: TC_OK, or the launch error named after `op` (a bad configuration, no device). */
tc_status tc_launched(const char *op);

#define TC_REQUIRE(cond, ...)                                             \
    do {                                                                  \
        if (!(cond)) return tc_fail(TC_INVALID_ARGUMENT, __VA_ARGS__);    \
    } while (0)

/* Launches the bf16-weight linear kernel; moe.cu uses it for the router. Arguments are checked by the caller. */
tc_status tc_launch_linear(tc_context *ctx, const float *x, int rows, int in_features, const uint16_t *w,
                           int out_features, const float *bias, float *y);

/* ---- device helpers ---- */

/*
 * A 16-byte vector load (uint4, float4). The pointer must be 16-byte aligned: on a GPU a misaligned one is a fault
 * that loses the context, so the host build checks every such load.
 */
template <typename T> static __device__ __forceinline__ T tc_load16(const void *p) {
    static_assert(sizeof(T) == 16, "tc_load16 loads 16 bytes");
#ifndef __CUDACC__
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) tc_emu::misaligned(p);
#endif
    return *reinterpret_cast<const T *>(p);
}

static inline bool tc_aligned16(const void *p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

static __device__ __forceinline__ float tc_bf16(uint16_t bits) { return __uint_as_float((unsigned)bits << 16); }

/* The two bf16 values packed in a 32-bit word, the lower address first. */
static __device__ __forceinline__ float tc_bf16_lo(unsigned word) { return __uint_as_float(word << 16); }
static __device__ __forceinline__ float tc_bf16_hi(unsigned word) { return __uint_as_float(word & 0xffff0000u); }

/* The eight bf16 values of a 16-byte word, in address order. */
static __device__ __forceinline__ void tc_bf16x8(uint4 packed, float w[8]) {
    w[0] = tc_bf16_lo(packed.x); w[1] = tc_bf16_hi(packed.x); w[2] = tc_bf16_lo(packed.y); w[3] = tc_bf16_hi(packed.y);
    w[4] = tc_bf16_lo(packed.z); w[5] = tc_bf16_hi(packed.z); w[6] = tc_bf16_lo(packed.w); w[7] = tc_bf16_hi(packed.w);
}

/* w[0..8) · (a, b): eight weights against eight consecutive activations. */
static __device__ __forceinline__ float tc_dot8(const float w[8], float4 a, float4 b) {
    return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x + w[5] * b.y + w[6] * b.z + w[7] * b.w;
}

static __device__ __forceinline__ float tc_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

static __device__ __forceinline__ float tc_warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/*
 * The sum over the block, returned to every thread. `scratch` is 32 floats of shared memory; every thread of the
 * block must call this, and blockDim.x must be a multiple of 32. It ends with a barrier, so scratch may be reused.
 */
static __device__ __forceinline__ float tc_block_sum(float v, float *scratch) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = tc_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.0f;
    for (int w = 0; w < warps; w++) total += scratch[w];  // every thread adds in the same order: one answer
    __syncthreads();
    return total;
}

static __device__ __forceinline__ float tc_block_max(float v, float *scratch) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = tc_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = scratch[0];
    for (int w = 1; w < warps; w++) m = fmaxf(m, scratch[w]);
    __syncthreads();
    return m;
}

static inline unsigned tc_ceil_div(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

#endif /* TESSERA_TC_INTERNAL_H */
