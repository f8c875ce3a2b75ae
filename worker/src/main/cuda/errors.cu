/* Status names and the per-thread last error, shared by both builds. */
#include "tc_internal.h"

#include <cstdarg>
#include <cstdio>

namespace {
thread_local char last_error[512] = "";
}

extern "C" int tc_abi_version(void) { return TC_ABI_VERSION; }

extern "C" const char *tc_status_name(tc_status status) {
    switch (status) {
        case TC_OK: return "TC_OK";
        case TC_INVALID_ARGUMENT: return "TC_INVALID_ARGUMENT";
        case TC_NO_DEVICE: return "TC_NO_DEVICE";
        case TC_OUT_OF_MEMORY: return "TC_OUT_OF_MEMORY";
        case TC_CUDA_ERROR: return "TC_CUDA_ERROR";
        case TC_INTERNAL: return "TC_INTERNAL";
        case TC_DEVICE_LOST: return "TC_DEVICE_LOST";
    }
    return "TC_UNKNOWN_STATUS";
}

extern "C" const char *tc_last_error(void) { return last_error; }

tc_status tc_fail(tc_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(last_error, sizeof last_error, format, args);
    va_end(args);
    return status;
}
