/*
 * Softmax over rows, and the attention of a ViT block for inference, softmax(q k^T * scale) v
 * per (batch, head), read from the q/k/v projections in place and written in the [B, Q, D]
 * layout the output projection takes.
 *
 * Composed from tfjs ops, the same attention splits the qkv output into three copies, transposes
 * each into heads, scales q, writes the [B, H, Q, N] scores, reads and writes them again in the
 * softmax, reads them in the second product and transposes the result back: eight passes over
 * memory besides the products. Here one (batch, head) pair at a time runs both products through
 * gemm_one with strides, the scores of that pair (Q x N floats, 152 KiB for ViT-S/16) staying in
 * cache between them. Each product is gemm_one on the same values in the same K blocks as the
 * composed BatchMatMul, and the softmax is softmax_f32's row code, so the result has the same
 * bits as the composed ops on these kernels (a test checks).
 */
#include "simd_math.h"

/*
 * e^x for the x <= 0 of a softmax (x - max), NaN passed through: the Cephes polynomial of
 * simd_math.h's v_exp after a cheaper range reduction. Adding 1.5 * 2^23 rounds x log2(e) to
 * the nearest integer n in the low mantissa bits, which shifted into the exponent field give
 * 2^n directly; on [-87.3, 0] n stays in [-126, 0], so one factor suffices, and below it the
 * result is flushed to 0 (its weight in a softmax is under 1e-38). About half of v_exp's
 * instructions (no rounding or float-to-int conversion, no second factor, no branch).
 */
INLINE v128_t v_exp_nonpos(v128_t x) {
  const v128_t lo = F4(-87.33654f);
  const v128_t xc = wasm_f32x4_pmax(x, lo);
  const v128_t magic = F4(12582912.0f); /* 1.5 * 2^23 */
  const v128_t nb = VMADD(xc, F4(1.44269504088896341f), magic);
  const v128_t n = wasm_f32x4_sub(nb, magic);
  v128_t r = VMADD(n, F4(-0.693359375f), xc);
  r = VMADD(n, F4(2.12194440e-4f), r);
  v128_t p = v_exp_poly(r);
  p = wasm_f32x4_add(VMADD(p, wasm_f32x4_mul(r, r), r), F4(1.0f));
  /* bits(nb) = bits(1.5 * 2^23) + n: adding 127 - 0x4B400000 leaves n + 127, the exponent of 2^n */
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(nb, wasm_i32x4_splat(127 - 0x4B400000)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(p, scale), wasm_f32x4_lt(x, lo));
}

/* One row: y = exp(s x - max(s x)) / sum(exp(s x - max(s x))), s = scale. s x is one rounding,
 * the same value a composed mul(x, s) gives. The tail past the last whole vector goes through
 * one zero-padded vector whose padding lanes are masked out, so every element rounds alike. */
static void softmax_row(const f32 *x, f32 *y, int n, f32 scale) {
  const v128_t vs = F4(scale);
  const v128_t ninf = F4(-__builtin_inff());
  v128_t vmax = ninf;
  int j = 0;
  for (; j + 4 <= n; j += 4) vmax = wasm_f32x4_pmax(vmax, wasm_f32x4_mul(wasm_v128_load(x + j), vs));
  const int tail = n - j;
  v128_t tmask = wasm_i32x4_const(0, 0, 0, 0);
  v128_t xt = ninf;
  if (tail > 0) {
    f32 t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    i32 m[4] = {0, 0, 0, 0};
    for (int i = 0; i < tail; i++) {
      t[i] = x[j + i];
      m[i] = -1;
    }
    tmask = wasm_v128_load(m);
    xt = wasm_v128_bitselect(wasm_f32x4_mul(wasm_v128_load(t), vs), ninf, tmask);
    vmax = wasm_f32x4_pmax(vmax, xt);
  }
  /* max over the lanes, exact in any order (a NaN is dropped here, but its exp makes the sum and
   * so the whole row NaN) */
  vmax = wasm_f32x4_pmax(vmax, wasm_i32x4_shuffle(vmax, vmax, 2, 3, 0, 1));
  vmax = wasm_f32x4_pmax(vmax, wasm_i32x4_shuffle(vmax, vmax, 1, 0, 3, 2));
  v128_t vsum = F4(0.0f);
  for (j = 0; j + 4 <= n; j += 4) {
    const v128_t e = v_exp_nonpos(wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(x + j), vs), vmax));
    wasm_v128_store(y + j, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  v128_t et = F4(0.0f);
  if (tail > 0) {
    et = wasm_v128_and(v_exp_nonpos(wasm_f32x4_sub(xt, vmax)), tmask);
    vsum = wasm_f32x4_add(vsum, et);
  }
  /* lanes summed in a fixed order: (0 + 2) + (1 + 3) */
  vsum = wasm_f32x4_add(vsum, wasm_i32x4_shuffle(vsum, vsum, 2, 3, 0, 1));
  vsum = wasm_f32x4_add(vsum, wasm_i32x4_shuffle(vsum, vsum, 1, 0, 3, 2));
  /* one reciprocal, then products: a division per element costs more than the exp */
  const v128_t rsum = wasm_f32x4_div(F4(1.0f), vsum);
  for (j = 0; j + 4 <= n; j += 4) wasm_v128_store(y + j, wasm_f32x4_mul(wasm_v128_load(y + j), rsum));
  if (tail > 0) {
    f32 t[4];
    wasm_v128_store(t, wasm_f32x4_mul(et, rsum));
    for (int i = 0; i < tail; i++) y[j + i] = t[i];
  }
}

/* Softmax over `rows` rows of n floats (x and y may be the same). */
EXPORT(softmax_f32)
void softmax_f32(const f32 *x, f32 *y, int rows, int n, f32 scale) {
  for (int r = 0; r < rows; r++) softmax_row(x + (long)r * n, y + (long)r * n, n, scale);
}

/*
 * Attention of (batch, head) pairs [pair0, pair0 + pairs), pair = b * heads + h:
 *   S = q_bh k_bh^T (Q x N), P = softmax(S * scale) row by row, out_bh = P v_bh (Q x hd),
 * where q_bh row i = q + b*qbs + i*qrs + h*hd (hd floats), likewise k_bh and v_bh from k and v
 * (batch stride kvbs, row stride kvrs), and out_bh row i = out + b*obs + i*ors + h*hd.
 * s: Q*N floats of scratch; ws: gemm_workspace_floats() floats.
 */
EXPORT(attention_f32)
void attention_f32(const f32 *q, int qbs, int qrs, const f32 *k, const f32 *v, int kvbs, int kvrs,
                   f32 *out, int obs, int ors, int Q, int N, int heads, int hd, f32 scale,
                   int pair0, int pairs, f32 *s, f32 *ws) {
  for (int p = pair0; p < pair0 + pairs; p++) {
    const int b = p / heads, h = p % heads;
    const f32 *qp = q + (long)b * qbs + (long)h * hd;
    const f32 *kp = k + (long)b * kvbs + (long)h * hd;
    const f32 *vp = v + (long)b * kvbs + (long)h * hd;
    /* B(k, j) = k_bh[j][k]: step 1 along K, kvrs along N (the transposed keys, not copied) */
    gemm_one(Q, N, hd, qp, qrs, 1, kp, 1, kvrs, s, N, ws, 0);
    softmax_f32(s, s, Q, N, scale);
    gemm_one(Q, hd, N, s, N, 1, vp, kvrs, 1, out + (long)b * obs + (long)h * hd, ors, ws, 0);
  }
}
