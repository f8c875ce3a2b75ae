/*
 * Tessera's CUDA library: the flat C ABI that backend.Cuda binds through Java's FFM.
 *
 * Conventions
 *  - Every function returns a tc_status; on anything but TC_OK, tc_last_error() holds one line saying what failed,
 *    with CUDA's own words where CUDA failed. Java names the function next to it.
 *  - Pointers named d_* are device pointers (from tc_alloc); h_* are host pointers. Sizes are element counts
 *    unless named *_bytes.
 *  - Activations are row-major float32 [rows, cols]. Weights are stored as the checkpoint stores them: bf16 matrices
 *    as uint16_t [rows, cols] (y = x · Wᵀ), MXFP4 experts as uint8_t blocks and E8M0 scales. Norm gains, biases
 *    and sinks are widened to float32 when uploaded (they are small).
 *  - Kernel names carry their dtypes: activations first, then "<dtype>w" for the weights they read
 *    (f32_bf16w_linear reads float32 activations and bf16 weights).
 *  - Work is queued on the context's stream and runs in order; a function returns once the work is queued, except
 *    tc_copy_to_host and tc_synchronize, which wait for it. A failed kernel may report at the next call that waits.
 *  - A context is driven by one host thread at a time.
 *  - A kernel's fault shows at a later call that waits, which then returns TC_DEVICE_LOST naming itself, not the
 *    kernel. With TESSERA_CUDA_SYNC=1 in the environment every launch is waited for, so the fault names its kernel
 *    (slow; for debugging).
 *
 * The library links the CUDA runtime statically and finds the driver (libcuda.so.1) when the first context is made,
 * so it loads on machines without one; tc_device_count then says why there is no device. The same sources also
 * build for the host (tc_is_host_build() == 1): kernels run on the CPU, one block at a time, each GPU thread a fiber,
 * so their indexing, reductions and barriers are tested where there is no GPU. That build is for tests only.
 */
#ifndef TESSERA_CUDA_H
#define TESSERA_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tc_status {
    TC_OK = 0,
    TC_INVALID_ARGUMENT = 1, /* a null pointer, a negative size, a shape the kernel does not support */
    TC_NO_DEVICE = 2,        /* no driver, or no CUDA device: the library loaded but cannot compute */
    TC_OUT_OF_MEMORY = 3,    /* device memory exhausted */
    TC_CUDA_ERROR = 4,       /* any other CUDA runtime error, named in tc_last_error() */
    TC_INTERNAL = 5,         /* a bug in this library */
    TC_DEVICE_LOST = 6       /* a fault (an illegal address, a failed launch, an uncorrectable ECC error...) that
                                leaves the process's CUDA context unusable: every later call fails; restart the process */
} tc_status;

/* One device, one stream and the scratch space of the ops that need it. Opaque. */
typedef struct tc_context tc_context;

/* The ABI version; backend.Cuda refuses a library whose version differs from its own. */
int tc_abi_version(void);

/* 1 when this is the host build (kernels on the CPU, for tests), 0 for the CUDA build. */
int tc_is_host_build(void);

/* The status's name ("TC_OUT_OF_MEMORY"); never null. */
const char *tc_status_name(tc_status status);

/* The message of the last failure on the calling thread; empty when there was none. Valid until the next call. */
const char *tc_last_error(void);

/* How many CUDA devices the driver sees. TC_NO_DEVICE (with the reason) where there is no driver or no device. */
tc_status tc_device_count(int *count);

/* Makes a context on device `device`: selects it, creates a non-blocking stream. */
tc_status tc_context_create(int device, tc_context **out);

/* Waits for the context's work, frees its stream and scratch. Memory from tc_alloc must be freed before. Null is ok. */
void tc_context_destroy(tc_context *ctx);

/* The device's name, NUL-terminated, truncated to `capacity` bytes. */
tc_status tc_device_name(tc_context *ctx, char *h_name, int capacity);

/* The device's compute capability as major * 10 + minor (90 for an H100). */
tc_status tc_compute_capability(tc_context *ctx, int *cc);

/* Free and total device memory in bytes, as the driver reports them now. */
tc_status tc_memory_info(tc_context *ctx, size_t *free_bytes, size_t *total_bytes);

/* Allocates `bytes` of device memory (256-byte aligned). Zero bytes gives a null pointer and TC_OK. */
tc_status tc_alloc(tc_context *ctx, size_t bytes, void **d_out);

/* Frees memory from tc_alloc after the context's queued work is done with it. Null is ok. */
tc_status tc_free(tc_context *ctx, void *d_ptr);

/*
 * Queues a host-to-device copy. The host buffer may be reused when this returns: copies up to 1 MiB go through pinned
 * staging slots and stay asynchronous; larger ones (weights, hidden states) return once the copy is done.
 */
tc_status tc_copy_to_device(tc_context *ctx, void *d_dst, const void *h_src, size_t bytes);

/* Copies device memory to the host, waiting for the queued work before and for the copy itself. */
tc_status tc_copy_to_host(tc_context *ctx, void *h_dst, const void *d_src, size_t bytes);

/* Queues a device-to-device copy. */
tc_status tc_copy_on_device(tc_context *ctx, void *d_dst, const void *d_src, size_t bytes);

/* Queues a fill of `bytes` zero bytes. */
tc_status tc_zero(tc_context *ctx, void *d_dst, size_t bytes);

/* Waits for every queued operation of the context, and reports a kernel's failure if one failed. */
tc_status tc_synchronize(tc_context *ctx);

/* ---- synthetic weights, generated on the device (benchmarks of full-size shapes without a checkpoint) ---- */

/* d_dst[i] = bf16 of a uniform value in [-scale, scale), from a counter-based hash of (seed, i). */
tc_status tc_bf16_fill_uniform(tc_context *ctx, uint16_t *d_dst, size_t n, uint64_t seed, float scale);

/* d_dst[i] = a byte uniform in [lo, hi], from a counter-based hash of (seed, i). */
tc_status tc_u8_fill_uniform(tc_context *ctx, uint8_t *d_dst, size_t n, uint64_t seed, int lo, int hi);

/* ---- model ops: float32 activations ---- */

/* d_out[t, :] = float32(table[d_tokens[t], :]) for t < n. Token ids must be in [0, vocab); the caller checks. */
tc_status tc_f32_bf16w_embedding(tc_context *ctx, const int32_t *d_tokens, int n, const uint16_t *d_table, int vocab,
                                 int hidden, float *d_out);

/* d_out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * gain, row by row; d_out may equal d_x. */
tc_status tc_f32_rmsnorm(tc_context *ctx, const float *d_x, const float *d_gain, int rows, int cols, float eps,
                         float *d_out);

/* d_y[t, o] = sum_i x[t, i] * W[o, i] + bias[o]; d_bias may be null. W is bf16 [out_features, in_features]; d_y must
 * not alias d_x. */
tc_status tc_f32_bf16w_linear(tc_context *ctx, const float *d_x, int rows, int in_features, const uint16_t *d_w,
                              int out_features, const float *d_bias, float *d_y);

/*
 * Rotates each head_dim-wide head of x [rows, cols] in place, NeoX half-split: element i pairs with i + head_dim/2
 * and turns by positions[t] * inv_freq[i]; cos and sin are both scaled by `concentration` (YaRN's attention factor).
 */
tc_status tc_f32_rope(tc_context *ctx, float *d_x, int rows, int cols, int head_dim, const int32_t *d_positions,
                      const float *d_inv_freq, float concentration);

/*
 * The attention block's projections in one launch: q = x · Wqᵀ + bq [rows, q_rows], k likewise [rows, k_rows], v
 * [rows, v_rows], with q and k rotated as tc_f32_rope does (each head_dim-wide head, positions[t] · inv_freq[i],
 * scaled by `concentration`). Equal to three tc_f32_bf16w_linear calls and two tc_f32_rope calls. Biases may be null;
 * outputs must not alias x.
 */
tc_status tc_f32_bf16w_qkv_rope(tc_context *ctx, const float *d_x, int rows, int in_features, const uint16_t *d_wq,
                                const float *d_bq, int q_rows, const uint16_t *d_wk, const float *d_bk, int k_rows,
                                const uint16_t *d_wv, const float *d_bv, int v_rows, int head_dim,
                                const int32_t *d_positions, const float *d_inv_freq, float concentration, float *d_q,
                                float *d_k, float *d_v);

/* Stores row t of k and v [rows, width] at slot d_slots[t] of one layer's caches [slots, width]. */
tc_status tc_f32_kv_write(tc_context *ctx, const float *d_k, const float *d_v, int rows, int width,
                          const int32_t *d_slots, float *d_k_cache, float *d_v_cache);

/*
 * Attention with sinks over one layer's paged cache (gpt-oss.md §2.3), for any mix of prefill and decode tokens.
 * Token t sits at d_positions[t] of sequence d_sequence_of[t]; that sequence's cache blocks are
 * d_block_tables[d_table_offsets[s] ..], in position order, block_size slots each, and a slot's key row is
 * d_k_cache[slot * kv_heads * head_dim ..]. Token t attends to its sequence's positions p <= its own, and
 * p > position - window when window > 0. Query head h reads KV head h / (heads / kv_heads). d_sinks[h] joins the
 * softmax denominator with no value. Scores are q·k * scale. d_q and d_out are [tokens, heads * head_dim].
 * head_dim must be a multiple of 32 and at most 256. The work is split over the keys (split-KV) when a token sees
 * many of them; the partial results are merged with the sink counted once.
 * d_workspace: tc_attention_workspace_bytes(tokens, heads, max_position + 1) bytes (may be null when that is 0).
 */
tc_status tc_f32_paged_attention(tc_context *ctx, const float *d_q, int tokens, int heads, int kv_heads, int head_dim,
                                 const float *d_k_cache, const float *d_v_cache, const int32_t *d_positions,
                                 const int32_t *d_sequence_of, const int32_t *d_table_offsets,
                                 const int32_t *d_block_tables, int block_size, const float *d_sinks, int window,
                                 float scale, int max_position, void *d_workspace, float *d_out);

/* The scratch tc_f32_paged_attention needs for `tokens` tokens of `heads` heads seeing at most `max_keys` keys. */
size_t tc_attention_workspace_bytes(int tokens, int heads, int max_keys);

/*
 * The MoE block of gpt-oss: router logits = x · Rᵀ + router_bias, top-k (ties to the lower expert index), softmax
 * over the k, then for each chosen expert e: h = W1[e] · x + b1[e] (gate and up interleaved by row), the clamped
 * SwiGLU g = min(gate, limit), u = clamp(up, -limit, limit), a = g · sigmoid(alpha · g) · (u + 1), and
 * y = W2[e] · a + b2[e]; d_out[t] = sum over the k of weight · y, added in the order of the k.
 * Tokens are grouped by expert on the device, so each selected expert's weights are read once per call for all of
 * its tokens. W1 blocks are [experts, 2·intermediate, hidden/32, 16], scales [experts, 2·intermediate, hidden/32];
 * W2 blocks [experts, hidden, intermediate/32, 16], scales [experts, hidden, intermediate/32]; two E2M1 codes a
 * byte, the low nibble first. hidden and intermediate must be multiples of 32; top_k at most 8; experts at most 1024.
 * d_workspace: tc_moe_workspace_bytes(tokens, experts, top_k, intermediate, hidden) bytes. d_out must not alias d_x.
 */
tc_status tc_f32_mxfp4w_moe(tc_context *ctx, const float *d_x, int tokens, int hidden, int intermediate, int experts,
                            int top_k, const uint16_t *d_router_w, const float *d_router_bias,
                            const uint8_t *d_w1_blocks, const uint8_t *d_w1_scales, const float *d_w1_bias,
                            const uint8_t *d_w2_blocks, const uint8_t *d_w2_scales, const float *d_w2_bias,
                            float swiglu_limit, float swiglu_alpha, void *d_workspace, float *d_out);

/* The scratch tc_f32_mxfp4w_moe needs. */
size_t tc_moe_workspace_bytes(int tokens, int experts, int top_k, int intermediate, int hidden);

/* d_out[i, :] = d_x[d_rows[i], :] for i < n. */
tc_status tc_f32_gather_rows(tc_context *ctx, const float *d_x, int cols, const int32_t *d_rows, int n, float *d_out);

/* d_x[i] += d_y[i] for i < n. */
tc_status tc_f32_add(tc_context *ctx, float *d_x, const float *d_y, size_t n);

/* d_out[r] = the index of the largest of row r of d_x [rows, cols] (the lowest index among equals): greedy sampling. */
tc_status tc_f32_argmax_rows(tc_context *ctx, const float *d_x, int rows, int cols, int32_t *d_out);

/*
 * Greedy sampling of rows of logits d_x [rows, cols]: d_tokens[r] as tc_f32_argmax_rows gives it, and d_logprobs[r]
 * its log-probability under the row's softmax, -log(sum_c exp(x[r, c] - max)). Only rows*8 bytes go back to the host
 * instead of the logits (804 KB a row for gpt-oss).
 */
tc_status tc_f32_greedy_rows(tc_context *ctx, const float *d_x, int rows, int cols, int32_t *d_tokens, float *d_logprobs);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_CUDA_H */
