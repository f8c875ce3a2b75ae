/*
 * The CUDA build's runtime: contexts, memory and copies over the CUDA runtime API (linked statically; it opens
 * libcuda.so.1 when first used, so this library loads where there is no driver and says so through tc_device_count).
 */
#include "tc_internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <new>

namespace {

tc_status from_cuda(cudaError_t err, const char *op) {
    if (err == cudaSuccess) return TC_OK;
    tc_status status = TC_CUDA_ERROR;
    switch (err) {
        case cudaErrorMemoryAllocation: status = TC_OUT_OF_MEMORY; break;
        case cudaErrorNoDevice: case cudaErrorInsufficientDriver: case cudaErrorStubLibrary: case cudaErrorInvalidDevice:
            status = TC_NO_DEVICE;
            break;
        // NOTE: these are sticky: the context is corrupt and every later call fails the same way; no retry helps.
        case cudaErrorIllegalAddress: case cudaErrorMisalignedAddress: case cudaErrorLaunchFailure:
        case cudaErrorIllegalInstruction: case cudaErrorInvalidAddressSpace: case cudaErrorInvalidPc:
        case cudaErrorHardwareStackError: case cudaErrorAssert: case cudaErrorECCUncorrectable:
        case cudaErrorLaunchTimeout: case cudaErrorNvlinkUncorrectable:
            status = TC_DEVICE_LOST;
            break;
        default: break;
    }
    cudaGetLastError();  // clears a non-sticky error, so the next call starts clean
    // NOTE: an error that survives the clearing is sticky whatever its code (a GPU off the bus often says only
    // cudaErrorUnknown): the context is gone.
    if (status != TC_NO_DEVICE && cudaPeekAtLastError() != cudaSuccess) status = TC_DEVICE_LOST;
    return tc_fail(status, "%s: %s (%s)", op, cudaGetErrorString(err), cudaGetErrorName(err));
}

cudaStream_t stream_of(tc_context *ctx) { return (cudaStream_t)ctx->stream; }

/* Every call on a context runs with its device current: a process may hold contexts on several devices. */
tc_status use(tc_context *ctx, const char *op) {
    if (ctx == nullptr) return tc_fail(TC_INVALID_ARGUMENT, "%s: null context", op);
    return from_cuda(cudaSetDevice(ctx->device), op);
}

}  // namespace

extern "C" int tc_is_host_build(void) { return 0; }

/* TESSERA_CUDA_SYNC=1: wait for every launch, so that a kernel's fault is reported by the kernel's own op. */
bool sync_every_launch() {
    static const bool sync = [] {
        const char *v = std::getenv("TESSERA_CUDA_SYNC");
        return v != nullptr && v[0] == '1';
    }();
    return sync;
}

tc_status tc_launched(const char *op) {
    tc_status s = from_cuda(cudaGetLastError(), op);
    if (s == TC_OK && sync_every_launch()) s = from_cuda(cudaDeviceSynchronize(), op);
    return s;
}

extern "C" tc_status tc_device_count(int *count) {
    TC_REQUIRE(count != nullptr, "tc_device_count: count is null");
    *count = 0;
    // NOTE: without a driver the runtime reports an "insufficient" one; say plainly that there is none.
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (driver == nullptr)
        return tc_fail(TC_NO_DEVICE, "tc_device_count: no NVIDIA driver on this machine (libcuda.so.1 is not on the loader's path)");
    dlclose(driver);
    cudaError_t err = cudaGetDeviceCount(count);
    if (err != cudaSuccess) {
        *count = 0;
        return from_cuda(err, "tc_device_count");
    }
    if (*count == 0) return tc_fail(TC_NO_DEVICE, "tc_device_count: the driver sees no CUDA device");
    return TC_OK;
}

extern "C" tc_status tc_context_create(int device, tc_context **out) {
    TC_REQUIRE(out != nullptr, "tc_context_create: out is null");
    *out = nullptr;
    tc_status s = from_cuda(cudaSetDevice(device), "tc_context_create");
    if (s != TC_OK) return s;
    cudaStream_t stream;
    s = from_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "tc_context_create");
    if (s != TC_OK) return s;
    tc_context *ctx = new (std::nothrow) tc_context{device, stream, {}, {}, 0};
    if (ctx == nullptr) {
        cudaStreamDestroy(stream);
        return tc_fail(TC_OUT_OF_MEMORY, "tc_context_create: out of host memory");
    }
    for (int i = 0; i < TC_STAGING_SLOTS && s == TC_OK; i++) {
        s = from_cuda(cudaHostAlloc(&ctx->staging[i], TC_STAGING_SLOT_BYTES, cudaHostAllocDefault), "tc_context_create");
        cudaEvent_t done;
        if (s == TC_OK) s = from_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "tc_context_create");
        if (s == TC_OK) ctx->staging_done[i] = done;
    }
    if (s != TC_OK) {
        tc_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return TC_OK;
}

extern "C" void tc_context_destroy(tc_context *ctx) {
    if (ctx == nullptr) return;
    cudaSetDevice(ctx->device);
    cudaStreamSynchronize(stream_of(ctx));
    for (int i = 0; i < TC_STAGING_SLOTS; i++) {
        if (ctx->staging_done[i] != nullptr) cudaEventDestroy((cudaEvent_t)ctx->staging_done[i]);
        if (ctx->staging[i] != nullptr) cudaFreeHost(ctx->staging[i]);
    }
    cudaStreamDestroy(stream_of(ctx));
    delete ctx;
}

extern "C" tc_status tc_device_name(tc_context *ctx, char *name, int capacity) {
    TC_REQUIRE(name != nullptr && capacity > 0, "tc_device_name: null name or no capacity");
    tc_status s = use(ctx, "tc_device_name");
    if (s != TC_OK) return s;
    cudaDeviceProp prop;
    s = from_cuda(cudaGetDeviceProperties(&prop, ctx->device), "tc_device_name");
    if (s != TC_OK) return s;
    std::snprintf(name, (size_t)capacity, "%s", prop.name);
    return TC_OK;
}

extern "C" tc_status tc_compute_capability(tc_context *ctx, int *cc) {
    TC_REQUIRE(cc != nullptr, "tc_compute_capability: cc is null");
    tc_status s = use(ctx, "tc_compute_capability");
    if (s != TC_OK) return s;
    int major = 0, minor = 0;
    s = from_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx->device), "tc_compute_capability");
    if (s == TC_OK)
        s = from_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx->device), "tc_compute_capability");
    *cc = major * 10 + minor;
    return s;
}

extern "C" tc_status tc_memory_info(tc_context *ctx, size_t *free_bytes, size_t *total_bytes) {
    TC_REQUIRE(free_bytes && total_bytes, "tc_memory_info: null argument");
    tc_status s = use(ctx, "tc_memory_info");
    return s != TC_OK ? s : from_cuda(cudaMemGetInfo(free_bytes, total_bytes), "tc_memory_info");
}

extern "C" tc_status tc_alloc(tc_context *ctx, size_t bytes, void **out) {
    TC_REQUIRE(out != nullptr, "tc_alloc: out is null");
    *out = nullptr;
    tc_status s = use(ctx, "tc_alloc");
    if (s != TC_OK || bytes == 0) return s;
    cudaError_t err = cudaMalloc(out, bytes);
    if (err != cudaSuccess) {
        *out = nullptr;
        s = from_cuda(err, "tc_alloc");
        size_t free_bytes = 0, total = 0;
        cudaMemGetInfo(&free_bytes, &total);
        return tc_fail(s, "tc_alloc: %zu bytes: %s; %zu of %zu bytes free", bytes, cudaGetErrorString(err),
                       free_bytes, total);
    }
    return TC_OK;
}

extern "C" tc_status tc_free(tc_context *ctx, void *ptr) {
    if (ptr == nullptr) return TC_OK;
    tc_status s = use(ctx, "tc_free");
    // NOTE: cudaFree waits for the device to be idle, so queued kernels still reading this memory finish first.
    return s != TC_OK ? s : from_cuda(cudaFree(ptr), "tc_free");
}

extern "C" tc_status tc_copy_to_device(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(bytes == 0 || (dst && src), "tc_copy_to_device: null pointer");
    tc_status s = use(ctx, "tc_copy_to_device");
    if (s != TC_OK || bytes == 0) return s;
    // NOTE: the caller may reuse its buffer as soon as this returns (the header promises it), and the copy must stay
    // ordered on the stream after the kernels queued before it. CUDA does not promise that an asynchronous copy from
    // pageable memory has read its source on return, so small copies (the index arrays of every op) go through a
    // ring of pinned slots, each reused only after the copy out of it has finished; large ones (weights, hidden
    // states) are waited for.
    if (bytes <= TC_STAGING_SLOT_BYTES) {
        int slot = ctx->next_slot;
        ctx->next_slot = (slot + 1) % TC_STAGING_SLOTS;
        cudaEvent_t done = (cudaEvent_t)ctx->staging_done[slot];
        s = from_cuda(cudaEventSynchronize(done), "tc_copy_to_device");
        if (s != TC_OK) return s;
        std::memcpy(ctx->staging[slot], src, bytes);
        s = from_cuda(cudaMemcpyAsync(dst, ctx->staging[slot], bytes, cudaMemcpyHostToDevice, stream_of(ctx)),
                      "tc_copy_to_device");
        return s != TC_OK ? s : from_cuda(cudaEventRecord(done, stream_of(ctx)), "tc_copy_to_device");
    }
    s = from_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(ctx)), "tc_copy_to_device");
    return s != TC_OK ? s : from_cuda(cudaStreamSynchronize(stream_of(ctx)), "tc_copy_to_device");
}

extern "C" tc_status tc_copy_to_host(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(bytes == 0 || (dst && src), "tc_copy_to_host: null pointer");
    tc_status s = use(ctx, "tc_copy_to_host");
    if (s != TC_OK) return s;
    if (bytes) s = from_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_of(ctx)), "tc_copy_to_host");
    if (s != TC_OK) return s;
    return from_cuda(cudaStreamSynchronize(stream_of(ctx)), "tc_copy_to_host");
}

extern "C" tc_status tc_copy_on_device(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(bytes == 0 || (dst && src), "tc_copy_on_device: null pointer");
    tc_status s = use(ctx, "tc_copy_on_device");
    if (s != TC_OK || bytes == 0) return s;
    return from_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_of(ctx)), "tc_copy_on_device");
}

extern "C" tc_status tc_zero(tc_context *ctx, void *dst, size_t bytes) {
    TC_REQUIRE(bytes == 0 || dst, "tc_zero: null pointer");
    tc_status s = use(ctx, "tc_zero");
    if (s != TC_OK || bytes == 0) return s;
    return from_cuda(cudaMemsetAsync(dst, 0, bytes, stream_of(ctx)), "tc_zero");
}

extern "C" tc_status tc_synchronize(tc_context *ctx) {
    tc_status s = use(ctx, "tc_synchronize");
    return s != TC_OK ? s : from_cuda(cudaStreamSynchronize(stream_of(ctx)), "tc_synchronize");
}
