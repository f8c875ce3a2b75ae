/* Row lookups: the token embedding (bf16 table to float32 rows) and gathering float32 rows by index. */
#include "tc_internal.h"

namespace {

/* One block per output row; threads stride over its columns. */
__global__ void f32_bf16w_embedding(const int32_t *tokens, const uint16_t *table, int hidden, float *out) {
    int t = blockIdx.x;
    const uint16_t *row = table + (size_t)tokens[t] * hidden;
    for (int c = threadIdx.x; c < hidden; c += blockDim.x) out[(size_t)t * hidden + c] = tc_bf16(row[c]);
}

__global__ void f32_gather_rows(const float *x, int cols, const int32_t *rows, float *out) {
    int i = blockIdx.x;
    const float *src = x + (size_t)rows[i] * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) out[(size_t)i * cols + c] = src[c];
}

}  // namespace

extern "C" tc_status tc_f32_bf16w_embedding(tc_context *ctx, const int32_t *d_tokens, int n, const uint16_t *d_table,
                                            int vocab, int hidden, float *d_out) {
    TC_REQUIRE(ctx && d_tokens && d_table && d_out, "tc_f32_bf16w_embedding: null argument");
    TC_REQUIRE(n >= 0 && vocab > 0 && hidden > 0, "tc_f32_bf16w_embedding: n=%d vocab=%d hidden=%d", n, vocab, hidden);
    if (n == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_bf16w_embedding, dim3(n), dim3(128), d_tokens, d_table, hidden, d_out);
    return tc_launched("tc_f32_bf16w_embedding");
}

extern "C" tc_status tc_f32_gather_rows(tc_context *ctx, const float *d_x, int cols, const int32_t *d_rows, int n,
                                        float *d_out) {
    TC_REQUIRE(ctx && d_x && d_rows && d_out, "tc_f32_gather_rows: null argument");
    TC_REQUIRE(n >= 0 && cols > 0, "tc_f32_gather_rows: n=%d cols=%d", n, cols);
    if (n == 0) return TC_OK;
    TC_LAUNCH(ctx, f32_gather_rows, dim3(n), dim3(128), d_x, cols, d_rows, d_out);
    return tc_launched("tc_f32_gather_rows");
}
