/*
 * Float32 reductions (sum, max, min) over any set of axes, without transposing.
 *
 * The caller merges adjacent dims that are both reduced or both kept, so the input is `rank`
 * dims alternating between kept and reduced. The input is read once, in order, one innermost
 * row at a time: a kept innermost dim adds (maxes) the row into an output row, a reduced
 * innermost dim folds the row to one value. The stock kernel transposes the reduced axes to the
 * end first, which for a bias gradient (sum over [batch, tokens]) costs more than the sum.
 */
#include "common.h"

#define MAX_RANK 8

enum { R_SUM = 0, R_MAX = 1, R_MIN = 2 };

INLINE v128_t combine(int op, v128_t a, v128_t b) {
  if (op == R_SUM) return wasm_f32x4_add(a, b);
  /* NaN propagates, as in Math.max / Math.min */
  v128_t m = op == R_MAX ? wasm_f32x4_pmax(a, b) : wasm_f32x4_pmin(a, b);
  return wasm_v128_bitselect(wasm_f32x4_add(a, b), m, wasm_v128_or(wasm_f32x4_ne(a, a), wasm_f32x4_ne(b, b)));
}

INLINE f32 combine1(int op, f32 a, f32 b) {
  return wasm_f32x4_extract_lane(combine(op, wasm_f32x4_splat(a), wasm_f32x4_splat(b)), 0);
}

/* Folds a contiguous row of n >= 1 values. Sums use four (or sixteen) partial sums, which is
 * also more accurate than one running sum. */
static f32 fold_row(int op, const f32 *x, int n) {
  int i = 0;
  v128_t acc;
  if (n >= 16) {
    v128_t a0 = wasm_v128_load(x), a1 = wasm_v128_load(x + 4), a2 = wasm_v128_load(x + 8),
           a3 = wasm_v128_load(x + 12);
    for (i = 16; i + 16 <= n; i += 16) {
      a0 = combine(op, a0, wasm_v128_load(x + i));
      a1 = combine(op, a1, wasm_v128_load(x + i + 4));
      a2 = combine(op, a2, wasm_v128_load(x + i + 8));
      a3 = combine(op, a3, wasm_v128_load(x + i + 12));
    }
    acc = combine(op, combine(op, a0, a1), combine(op, a2, a3));
  } else if (n >= 4) {
    acc = wasm_v128_load(x);
    i = 4;
  } else {
    f32 r = x[0];
    for (i = 1; i < n; i++) r = combine1(op, r, x[i]);
    return r;
  }
  for (; i + 4 <= n; i += 4) acc = combine(op, acc, wasm_v128_load(x + i));
  f32 r = combine1(op, combine1(op, wasm_f32x4_extract_lane(acc, 0), wasm_f32x4_extract_lane(acc, 1)),
                   combine1(op, wasm_f32x4_extract_lane(acc, 2), wasm_f32x4_extract_lane(acc, 3)));
  for (; i < n; i++) r = combine1(op, r, x[i]);
  return r;
}

/* o[j] = o[j] op x[j] */
static void fold_into(int op, f32 *o, const f32 *x, int n) {
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(o + j, combine(op, wasm_v128_load(o + j), wasm_v128_load(x + j)));
  for (; j < n; j++) o[j] = combine1(op, o[j], x[j]);
}

/*
 * out[kept index] = reduce over the reduced dims of x. shape: merged input dims, reduced: 1 for
 * reduced dims. out has prod(kept dims) elements. scale multiplies the result (1/count for
 * mean, 1 otherwise).
 */
EXPORT(reduce_f32)
void reduce_f32(int op, const f32 *x, f32 *out, int rank, const i32 *shape, const i32 *reduced, f32 scale) {
  long ostride[MAX_RANK];
  long osize = 1;
  for (int d = rank - 1; d >= 0; d--) {
    ostride[d] = reduced[d] ? 0 : osize;
    if (!reduced[d]) osize *= shape[d];
  }
  const int last = rank - 1;
  const int n = shape[last];
  long rows = 1;
  for (int d = 0; d < last; d++) rows *= shape[d];
  if (rows * n == 0) return;
  /* the first visit of an output element copies, later visits combine */
  long idx[MAX_RANK] = {0};
  long oo = 0;
  /* a row "starts" its output when all reduced outer indices are 0 */
  for (long r = 0; r < rows; r++) {
    int first = 1;
    for (int d = 0; d < last; d++)
      if (reduced[d] && idx[d] != 0) first = 0;
    const f32 *xr = x + r * n;
    if (reduced[last]) {
      const f32 v = fold_row(op, xr, n);
      out[oo] = first ? v : combine1(op, out[oo], v);
    } else if (first) {
      __builtin_memcpy(out + oo, xr, (unsigned long)n * 4);
    } else {
      fold_into(op, out + oo, xr, n);
    }
    for (int d = last - 1; d >= 0; d--) {
      oo += ostride[d];
      if (++idx[d] < shape[d]) break;
      oo -= ostride[d] * shape[d];
      idx[d] = 0;
    }
  }
  if (scale != 1.0f) {
    const v128_t s = wasm_f32x4_splat(scale);
    long j = 0;
    for (; j + 4 <= osize; j += 4) wasm_v128_store(out + j, wasm_f32x4_mul(wasm_v128_load(out + j), s));
    for (; j < osize; j++) out[j] *= scale;
  }
}
