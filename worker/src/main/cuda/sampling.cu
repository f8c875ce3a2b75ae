/* Sampling on the device: greedy choice (argmax, the lowest index among equal maxima), with its log-probability. */
#include "tc_internal.h"

namespace {

__device__ __forceinline__ bool better(float v, int i, float best, int best_i) {
    return v > best || (v == best && i < best_i) || (best != best && v == v);  // NaN never wins
}

/*
 * The argmax of one row over the block: each thread scans a stride, then the block reduces (value, index) pairs
 * through shared memory. Every thread of the block must call it; all of them get the answer (the lowest index among
 * equal maxima). blockDim.x must be a power of two, at most 256.
 */
__device__ void block_argmax(const float *row, int cols, float *best_value, int *best_index) {
    __shared__ float values[256];
    __shared__ int indices[256];
    float best = -INFINITY;
    int best_i = 0x7fffffff;
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        if (better(row[c], c, best, best_i)) { best = row[c]; best_i = c; }
    values[threadIdx.x] = best;
    indices[threadIdx.x] = best_i;
    __syncthreads();
    for (int half = (int)blockDim.x / 2; half > 0; half >>= 1) {
        if ((int)threadIdx.x < half) {
            int other = threadIdx.x + half;
            if (better(values[other], indices[other], values[threadIdx.x], indices[threadIdx.x])) {
                values[threadIdx.x] = values[other];
                indices[threadIdx.x] = indices[other];
            }
        }
        __syncthreads();
    }
    *best_value = values[0];
    *best_index = indices[0] == 0x7fffffff ? 0 : indices[0];
    __syncthreads();  // every thread has read the answer before the shared arrays are used again
}

/* One block per row: greedy sampling's token. */
__global__ void f32_argmax_rows(const float *x, int cols, int32_t *out) {
    float top;
    int index;
    block_argmax(x + (size_t)blockIdx.x * cols, cols, &top, &index);
    if (threadIdx.x == 0) out[blockIdx.x] = index;
}

/* One block per row: the argmax, and its log-probability under the row's softmax, -log(sum exp(x - max)). */
__global__ void f32_greedy_rows(const float *x, int cols, int32_t *tokens, float *logprobs) {
    __shared__ float scratch[32];
    const float *row = x + (size_t)blockIdx.x * cols;
    float top;
    int index;
    block_argmax(row, cols, &top, &index);
    float sum = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += expf(row[c] - top);
    sum = tc_block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        tokens[blockIdx.x] = index;
        logprobs[blockIdx.x] = -logf(sum);
    }
}

}  // namespace

extern "C" tc_status tc_f32_greedy_rows(tc_context *ctx, const float *d_x, int rows, int cols, int32_t *d_tokens,
                                        float *d_logprobs) {
    TC_REQUIRE(ctx && d_x && d_tokens && d_logprobs, "tc_f32_greedy_rows: null argument");
    TC_REQUIRE(rows >= 0 && cols > 0, "tc_f32_greedy_rows: rows=%d cols=%d", rows, cols);
    if (rows == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_greedy_rows, dim3(rows), dim3(256), d_x, cols, d_tokens, d_logprobs);
    return tc_launched("tc_f32_greedy_rows");
}

extern "C" tc_status tc_f32_argmax_rows(tc_context *ctx, const float *d_x, int rows, int cols, int32_t *d_out) {
    TC_REQUIRE(ctx && d_x && d_out, "tc_f32_argmax_rows: null argument");
    TC_REQUIRE(rows >= 0 && cols > 0, "tc_f32_argmax_rows: rows=%d cols=%d", rows, cols);
    if (rows == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_argmax_rows, dim3(rows), dim3(256), d_x, cols, d_out);
    return tc_launched("tc_f32_argmax_rows");
}
