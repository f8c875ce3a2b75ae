/*
 * The host build's stand-in for the CUDA device: kernels written for the GPU compile with g++ and run on the CPU.
 *
 * A launch runs its blocks one after another on the calling thread. Each GPU thread of a block is a fiber
 * with its own stack; a fiber runs until it reaches a barrier (__syncthreads, __syncwarp, a warp shuffle) or ends,
 * then the next fiber runs. A block barrier opens when every live thread of the block waits at it, a warp barrier
 * when every thread of the warp does. What cannot happen on a GPU is a fatal error here, with the kernel's name:
 * a barrier some threads never reach (a deadlock on the GPU too), or a shuffle in a warp whose other lanes have exited.
 *
 * What this checks: indexing, tiling, reductions, barrier placement, the arithmetic. What it cannot check: data races
 * between threads that a GPU would run at the same time (fibers only switch at barriers, so a missing barrier before a
 * read of another thread's shared-memory write can go unnoticed here), memory coalescing, speed. Those are for the
 * GPU machine.
 *
 * Launches from different OS threads take turns (one process-wide lock), so the thread and block indices are plain
 * globals and __shared__ variables plain statics: one copy, reused by each block in turn, which is exactly one
 * block's worth since blocks never overlap. (Thread-local ones cost a TLS lookup per access from a shared library,
 * which was most of the emulation's time.) Atomics are plain read-modify-writes, since fibers never switch inside one.
 */
#ifndef TESSERA_HOST_EMULATION_H
#define TESSERA_HOST_EMULATION_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct float4 { float x, y, z, w; };
struct float2 { float x, y; };

namespace tc_emu {

extern dim3 thread_idx, block_idx, block_dim, grid_dim;

/* Runs body once for every thread of every block, as described above. Fails fatally on a deadlock. */
void launch(const char *kernel, dim3 grid, dim3 block, const std::function<void()> &body);

void sync_block();
void sync_warp();

/* Lane `src` of this warp's value of v; every lane of the warp must call it. */
uint64_t shuffle_bits(uint64_t v, int src_lane);

template <typename T> inline T shuffle(T v, int src_lane) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = shuffle_bits(bits, src_lane);
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}

inline int lane() { return static_cast<int>(thread_idx.x % 32); }

/* Fails, naming the kernel, on a 16-byte load from an address that is not 16-byte aligned. */
[[noreturn]] void misaligned(const void *address);

}  // namespace tc_emu

#define threadIdx (::tc_emu::thread_idx)
#define blockIdx (::tc_emu::block_idx)
#define blockDim (::tc_emu::block_dim)
#define gridDim (::tc_emu::grid_dim)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

inline void __syncthreads() { tc_emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { tc_emu::sync_warp(); }

template <typename T> inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
    int base = tc_emu::lane() / width * width;
    return tc_emu::shuffle(v, base + (src % width));
}
template <typename T> inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
    int l = tc_emu::lane();
    return tc_emu::shuffle(v, (l / width * width) + ((l % width) ^ mask));
}
template <typename T> inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
    int l = tc_emu::lane(), in_segment = l % width;
    int src = in_segment + static_cast<int>(delta) < width ? l + static_cast<int>(delta) : l;
    return tc_emu::shuffle(v, src);
}

template <typename T> inline T atomicAdd(T *address, T value) {
    T old = *address;
    *address = old + value;
    return old;
}
template <typename T> inline T __ldg(const T *p) { return *p; }

inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }

#endif /* TESSERA_HOST_EMULATION_H */
