/*
 * The host build's runtime: "device" memory is host memory, the stream is the calling thread (every launch has run
 * when it returns), and there is always exactly one device. For tests only; see host_emulation.h.
 */
#include "tc_internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

extern "C" int tc_is_host_build(void) { return 1; }

tc_status tc_launched(const char *) { return TC_OK; }

extern "C" tc_status tc_device_count(int *count) {
    TC_REQUIRE(count != nullptr, "tc_device_count: count is null");
    *count = 1;
    return TC_OK;
}

extern "C" tc_status tc_context_create(int device, tc_context **out) {
    TC_REQUIRE(out != nullptr, "tc_context_create: out is null");
    TC_REQUIRE(device == 0, "tc_context_create: the host build has one device, 0, not %d", device);
    *out = new (std::nothrow) tc_context{device, nullptr, {}, {}, 0};
    return *out ? TC_OK : tc_fail(TC_OUT_OF_MEMORY, "tc_context_create: out of host memory");
}

extern "C" void tc_context_destroy(tc_context *ctx) { delete ctx; }

extern "C" tc_status tc_device_name(tc_context *ctx, char *name, int capacity) {
    TC_REQUIRE(ctx && name && capacity > 0, "tc_device_name: null argument or no capacity");
    std::snprintf(name, (size_t)capacity, "%s", "host emulation");
    return TC_OK;
}

extern "C" tc_status tc_compute_capability(tc_context *ctx, int *cc) {
    TC_REQUIRE(ctx && cc, "tc_compute_capability: null argument");
    *cc = 0;
    return TC_OK;
}

extern "C" tc_status tc_memory_info(tc_context *ctx, size_t *free_bytes, size_t *total_bytes) {
    TC_REQUIRE(ctx && free_bytes && total_bytes, "tc_memory_info: null argument");
    // NOTE: a fixed 256 MiB, so that sizing the KV pool from free memory is exercised with a figure that does not
    // depend on the machine the tests run on (and stays small: the pool is allocated, on the host, in full).
    *free_bytes = *total_bytes = (size_t)256 << 20;
    return TC_OK;
}

extern "C" tc_status tc_alloc(tc_context *ctx, size_t bytes, void **out) {
    TC_REQUIRE(ctx && out, "tc_alloc: null argument");
    *out = nullptr;
    if (bytes == 0) return TC_OK;
    size_t rounded = (bytes + 255) / 256 * 256;
    *out = std::aligned_alloc(256, rounded);
    if (*out == nullptr) return tc_fail(TC_OUT_OF_MEMORY, "tc_alloc: %zu bytes: out of host memory", bytes);
    // NOTE: fresh device memory holds garbage on a GPU; poison it here so a kernel that reads what nobody wrote
    // shows up as NaNs in the tests instead of reading zeros by luck.
    std::memset(*out, 0xff, rounded);
    return TC_OK;
}

extern "C" tc_status tc_free(tc_context *ctx, void *ptr) {
    TC_REQUIRE(ctx != nullptr, "tc_free: null context");
    std::free(ptr);
    return TC_OK;
}

extern "C" tc_status tc_copy_to_device(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(ctx && (bytes == 0 || (dst && src)), "tc_copy_to_device: null argument");
    if (bytes) std::memcpy(dst, src, bytes);
    return TC_OK;
}

extern "C" tc_status tc_copy_to_host(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(ctx && (bytes == 0 || (dst && src)), "tc_copy_to_host: null argument");
    if (bytes) std::memcpy(dst, src, bytes);
    return TC_OK;
}

extern "C" tc_status tc_copy_on_device(tc_context *ctx, void *dst, const void *src, size_t bytes) {
    TC_REQUIRE(ctx && (bytes == 0 || (dst && src)), "tc_copy_on_device: null argument");
    if (bytes) std::memmove(dst, src, bytes);
    return TC_OK;
}

extern "C" tc_status tc_zero(tc_context *ctx, void *dst, size_t bytes) {
    TC_REQUIRE(ctx && (bytes == 0 || dst), "tc_zero: null argument");
    if (bytes) std::memset(dst, 0, bytes);
    return TC_OK;
}

extern "C" tc_status tc_synchronize(tc_context *ctx) {
    TC_REQUIRE(ctx != nullptr, "tc_synchronize: null context");
    return TC_OK;
}
