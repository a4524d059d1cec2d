/*
 * Element-wise float32 binary kernels with numpy broadcasting.
 *
 * The caller describes the output as `rank` dims (size-1 dims dropped, dims merged where both
 * operands stay contiguous or stay broadcast across them) and gives each operand's element stride
 * per dim (0 where it is broadcast). The innermost dim is a vector loop in one of three forms:
 * vector-vector, scalar-vector or vector-scalar; the outer dims are walked with an odometer.
 */
#include "simd_math.h"

#define MAX_RANK 8

enum { B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_MAX = 4, B_MIN = 5, B_SQDIFF = 6, B_POW = 7 };

/* maximum/minimum propagate NaN from either side, as Math.max does in tfjs's cpu backend. */
INLINE v128_t vmax(v128_t a, v128_t b) {
  v128_t m = wasm_f32x4_pmax(a, b);
  return wasm_v128_bitselect(wasm_f32x4_add(a, b), m, wasm_v128_or(wasm_f32x4_ne(a, a), wasm_f32x4_ne(b, b)));
}
INLINE v128_t vmin(v128_t a, v128_t b) {
  v128_t m = wasm_f32x4_pmin(a, b);
  return wasm_v128_bitselect(wasm_f32x4_add(a, b), m, wasm_v128_or(wasm_f32x4_ne(a, a), wasm_f32x4_ne(b, b)));
}
INLINE v128_t vsqdiff(v128_t a, v128_t b) {
  v128_t d = wasm_f32x4_sub(a, b);
  return wasm_f32x4_mul(d, d);
}

/* One row: o[i] = a[i*sa] op b[i*sb] with sa, sb in {0, 1}. */
#define ROW_FN(NAME, VEXPR)                                                           \
  static void NAME(const f32 *a, int sa, const f32 *b, int sb, f32 *o, int n) {     \
    int i = 0;                                                                      \
    if (sa == 1 && sb == 1) {                                                       \
      for (; i + 4 <= n; i += 4) {                                                  \
        const v128_t va = wasm_v128_load(a + i), vb = wasm_v128_load(b + i);        \
        wasm_v128_store(o + i, (VEXPR));                                            \
      }                                                                             \
    } else if (sa == 0 && sb == 1) {                                                \
      const v128_t va = wasm_v128_load32_splat(a);                                  \
      for (; i + 4 <= n; i += 4) {                                                  \
        const v128_t vb = wasm_v128_load(b + i);                                    \
        wasm_v128_store(o + i, (VEXPR));                                            \
      }                                                                             \
    } else if (sa == 1 && sb == 0) {                                                \
      const v128_t vb = wasm_v128_load32_splat(b);                                  \
      for (; i + 4 <= n; i += 4) {                                                  \
        const v128_t va = wasm_v128_load(a + i);                                    \
        wasm_v128_store(o + i, (VEXPR));                                            \
      }                                                                             \
    }                                                                               \
    for (; i < n; i++) {                                                            \
      const v128_t va = wasm_f32x4_splat(a[i * sa]), vb = wasm_f32x4_splat(b[i * sb]); \
      o[i] = wasm_f32x4_extract_lane((VEXPR), 0);                                   \
    }                                                                               \
  }

ROW_FN(row_add, wasm_f32x4_add(va, vb))
ROW_FN(row_sub, wasm_f32x4_sub(va, vb))
ROW_FN(row_mul, wasm_f32x4_mul(va, vb))
ROW_FN(row_div, wasm_f32x4_div(va, vb))
ROW_FN(row_max, vmax(va, vb))
ROW_FN(row_min, vmin(va, vb))
ROW_FN(row_sqdiff, vsqdiff(va, vb))
ROW_FN(row_pow, v_pow(va, vb))

static void row(int op, const f32 *a, int sa, const f32 *b, int sb, f32 *o, int n) {
  switch (op) {
    case B_ADD: row_add(a, sa, b, sb, o, n); break;
    case B_SUB: row_sub(a, sa, b, sb, o, n); break;
    case B_MUL: row_mul(a, sa, b, sb, o, n); break;
    case B_DIV: row_div(a, sa, b, sb, o, n); break;
    case B_MAX: row_max(a, sa, b, sb, o, n); break;
    case B_MIN: row_min(a, sa, b, sb, o, n); break;
    case B_SQDIFF: row_sqdiff(a, sa, b, sb, o, n); break;
    case B_POW: row_pow(a, sa, b, sb, o, n); break;
    default: break;
  }
}

/*
 * out (contiguous, shape[rank]) = a op b, a and b addressed with per-dim element strides.
 * The innermost strides must be 0 or 1.
 */
EXPORT(binary_f32)
void binary_f32(int op, const f32 *a, const f32 *b, f32 *out, int rank, const i32 *shape,
                const i32 *astride, const i32 *bstride) {
  const int last = rank - 1;
  const int n = shape[last];
  const int sa = astride[last], sb = bstride[last];
  if (sa == 0 && sb == 0) {
    /* both broadcast along the row: compute one value and fill */
    long rows = 1;
    for (int d = 0; d < last; d++) rows *= shape[d];
    long idx[MAX_RANK] = {0};
    long ao = 0, bo = 0;
    for (long r = 0; r < rows; r++) {
      f32 v;
      row(op, a + ao, 0, b + bo, 0, &v, 1);
      for (int i = 0; i < n; i++) out[r * n + i] = v;
      for (int d = last - 1; d >= 0; d--) {
        ao += astride[d];
        bo += bstride[d];
        if (++idx[d] < shape[d]) break;
        ao -= (long)astride[d] * shape[d];
        bo -= (long)bstride[d] * shape[d];
        idx[d] = 0;
      }
    }
    return;
  }
  long rows = 1;
  for (int d = 0; d < last; d++) rows *= shape[d];
  long idx[MAX_RANK] = {0};
  long ao = 0, bo = 0;
  for (long r = 0; r < rows; r++) {
    row(op, a + ao, sa, b + bo, sb, out + r * n, n);
    for (int d = last - 1; d >= 0; d--) {
      ao += astride[d];
      bo += bstride[d];
      if (++idx[d] < shape[d]) break;
      ao -= (long)astride[d] * shape[d];
      bo -= (long)bstride[d] * shape[d];
      idx[d] = 0;
    }
  }
}
