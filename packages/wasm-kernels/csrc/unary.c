/*
 * Element-wise float32 unary kernels, 4 lanes at a time. Each op is a separate loop (the switch
 * is outside the loop); the tail of fewer than 4 elements goes through a zero-padded vector so
 * scalar and vector results are identical.
 */
#include "simd_math.h"

enum {
  U_EXP = 0,
  U_ERF = 1,
  U_TANH = 2,
  U_LOG = 3,
  U_NEG = 4,
  U_SQUARE = 5,
  U_SQRT = 6,
  U_RSQRT = 7,
  U_ABS = 8,
  U_RELU = 9,
  U_SIGMOID = 10,
  U_RECIPROCAL = 11,
  U_ELU = 12,
  U_RELU6 = 13,
  U_COPY = 14,
  U_CUBE = 15,
};

#define UNARY_LOOP(EXPR)                                                      \
  {                                                                           \
    int i = 0;                                                                \
    for (; i + 4 <= n; i += 4) {                                              \
      const v128_t v = wasm_v128_load(x + i);                                 \
      wasm_v128_store(y + i, (EXPR));                                         \
    }                                                                         \
    if (i < n) {                                                              \
      f32 tin[4] = {0.0f, 0.0f, 0.0f, 0.0f}, tout[4];                         \
      for (int j = 0; i + j < n; j++) tin[j] = x[i + j];                      \
      const v128_t v = wasm_v128_load(tin);                                   \
      wasm_v128_store(tout, (EXPR));                                          \
      for (int j = 0; i + j < n; j++) y[i + j] = tout[j];                     \
    }                                                                         \
  }                                                                           \
  break;

EXPORT(unary_f32) void unary_f32(const f32 *x, f32 *y, int n, int op) {
  switch (op) {
    case U_EXP: UNARY_LOOP(v_exp(v))
    case U_ERF: UNARY_LOOP(v_erf(v))
    case U_TANH: UNARY_LOOP(v_tanh(v))
    case U_LOG: UNARY_LOOP(v_log(v))
    case U_NEG: UNARY_LOOP(wasm_f32x4_neg(v))
    case U_SQUARE: UNARY_LOOP(wasm_f32x4_mul(v, v))
    case U_SQRT: UNARY_LOOP(wasm_f32x4_sqrt(v))
    case U_RSQRT: UNARY_LOOP(wasm_f32x4_div(F4(1.0f), wasm_f32x4_sqrt(v)))
    case U_ABS: UNARY_LOOP(wasm_f32x4_abs(v))
    /* relu keeps NaN (max(NaN, 0) in tfjs is NaN) */
    case U_RELU: UNARY_LOOP(wasm_v128_andnot(v, wasm_f32x4_lt(v, F4(0.0f))))
    case U_SIGMOID: UNARY_LOOP(v_sigmoid(v))
    case U_RECIPROCAL: UNARY_LOOP(wasm_f32x4_div(F4(1.0f), v))
    case U_ELU: UNARY_LOOP(v_elu(v))
    /* relu6 maps NaN to 0, as the stock (XNNPACK clamp) kernel does */
    case U_RELU6: UNARY_LOOP(wasm_f32x4_pmin(wasm_f32x4_pmax(F4(0.0f), v), F4(6.0f)))
    case U_COPY: UNARY_LOOP(v)
    case U_CUBE: UNARY_LOOP(wasm_f32x4_mul(wasm_f32x4_mul(v, v), v))
    default: break;
  }
}
