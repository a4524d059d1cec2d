/*
 * Fused kernels: what tfjs runs as chains of memory-bound element-wise ops, in one pass over
 * memory each. Every loop handles its last partial vector through the same vector code (copied
 * through a small stack buffer), so each element is computed alike wherever a part boundary of
 * the thread pool falls.
 *
 * - adamw_f32 / ema_f32: the optimizer update and the teacher's EMA, the same float operations
 *   in the same order as the composed ops they replace (@dino-ts/dino's AdamW and emaUpdate),
 *   so the results are the same bits.
 * - gelu_f32 / gelu_grad_f32: exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)) (the same operations
 *   as @dino-ts/core's composed gelu, so the forward is the same bits) and its derivative.
 * - layer_norm_f32 / layer_norm_grad_f32 / layer_norm_grad_params_f32: LayerNorm over rows of
 *   n, saving each row's mean and 1 / sqrt(var + eps) for the backward pass.
 */
#include "simd_math.h"

/* Runs BODY (which reads and writes vectors at offset i of its arrays) over [0, n): whole
 * vectors in place, the last partial one through copies padded with zeros. */
#define TAIL_IN(arr, buf) \
  f32 buf[4] = {0.0f, 0.0f, 0.0f, 0.0f}; \
  for (int j = 0; i + j < n; j++) buf[j] = (arr)[i + j];
#define TAIL_OUT(arr, buf) \
  for (int j = 0; i + j < n; j++) (arr)[i + j] = buf[j];

INLINE void adamw4(const f32 *p, const f32 *g, const f32 *m, const f32 *v, f32 *po, f32 *mo, f32 *vo,
                   v128_t decay, v128_t b1, v128_t omb1, v128_t b2, v128_t omb2, v128_t bc2,
                   v128_t eps, v128_t step) {
  const v128_t vg = wasm_v128_load(g);
  const v128_t decayed = wasm_f32x4_mul(wasm_v128_load(p), decay);
  const v128_t m1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m), b1), wasm_f32x4_mul(vg, omb1));
  const v128_t v1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v), b2), wasm_f32x4_mul(wasm_f32x4_mul(vg, vg), omb2));
  const v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(v1), bc2), eps);
  wasm_v128_store(mo, m1);
  wasm_v128_store(vo, v1);
  wasm_v128_store(po, wasm_f32x4_sub(decayed, wasm_f32x4_mul(wasm_f32x4_div(m1, denom), step)));
}

/*
 * AdamW (decoupled weight decay), one parameter:
 *   p' = p * decay - (m' / (sqrt(v') / bc2 + eps)) * step,
 *   m' = m * b1 + g * omb1,  v' = v * b2 + g^2 * omb2,
 * with decay = 1 - lr * wd, omb = 1 - beta, bc2 = sqrt(1 - beta2^t), step = lr / (1 - beta1^t).
 */
EXPORT(adamw_f32)
void adamw_f32(const f32 *p, const f32 *g, const f32 *m, const f32 *v, f32 *po, f32 *mo, f32 *vo,
               int n, f32 decay, f32 b1, f32 omb1, f32 b2, f32 omb2, f32 bc2, f32 eps, f32 step) {
  const v128_t vdecay = F4(decay), vb1 = F4(b1), vomb1 = F4(omb1), vb2 = F4(b2), vomb2 = F4(omb2);
  const v128_t vbc2 = F4(bc2), veps = F4(eps), vstep = F4(step);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    adamw4(p + i, g + i, m + i, v + i, po + i, mo + i, vo + i, vdecay, vb1, vomb1, vb2, vomb2, vbc2, veps, vstep);
  }
  if (i < n) {
    TAIL_IN(p, tp) TAIL_IN(g, tg) TAIL_IN(m, tm) TAIL_IN(v, tv)
    f32 op[4], om[4], ov[4];
    adamw4(tp, tg, tm, tv, op, om, ov, vdecay, vb1, vomb1, vb2, vomb2, vbc2, veps, vstep);
    TAIL_OUT(po, op) TAIL_OUT(mo, om) TAIL_OUT(vo, ov)
  }
}

/* EMA of the teacher: out = t * mom + s * omm (omm = 1 - mom). */
EXPORT(ema_f32)
void ema_f32(const f32 *t, const f32 *s, f32 *out, int n, f32 mom, f32 omm) {
  const v128_t vm = F4(mom), vo = F4(omm);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(out + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(t + i), vm),
                                            wasm_f32x4_mul(wasm_v128_load(s + i), vo)));
  }
  if (i < n) {
    TAIL_IN(t, tt) TAIL_IN(s, ts)
    f32 to[4];
    wasm_v128_store(to, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(tt), vm), wasm_f32x4_mul(wasm_v128_load(ts), vo)));
    TAIL_OUT(out, to)
  }
}

#define SQRT1_2F 0.70710678118654752440f
/* 1 / sqrt(2 pi) */
#define INV_SQRT_2PI 0.39894228040143267794f

INLINE v128_t gelu4(v128_t x) {
  const v128_t e = v_erf(wasm_f32x4_mul(x, F4(SQRT1_2F)));
  return wasm_f32x4_mul(wasm_f32x4_mul(x, F4(0.5f)), wasm_f32x4_add(e, F4(1.0f)));
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x), times dy. */
INLINE v128_t gelu_grad4(v128_t dy, v128_t x) {
  const v128_t cdf = wasm_f32x4_mul(F4(0.5f), wasm_f32x4_add(v_erf(wasm_f32x4_mul(x, F4(SQRT1_2F))), F4(1.0f)));
  const v128_t pdf = wasm_f32x4_mul(v_exp(wasm_f32x4_mul(wasm_f32x4_mul(x, x), F4(-0.5f))), F4(INV_SQRT_2PI));
  return wasm_f32x4_mul(dy, wasm_f32x4_add(cdf, wasm_f32x4_mul(x, pdf)));
}

EXPORT(gelu_f32)
void gelu_f32(const f32 *x, f32 *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, gelu4(wasm_v128_load(x + i)));
  if (i < n) {
    TAIL_IN(x, tx)
    f32 ty[4];
    wasm_v128_store(ty, gelu4(wasm_v128_load(tx)));
    TAIL_OUT(y, ty)
  }
}

EXPORT(gelu_grad_f32)
void gelu_grad_f32(const f32 *dy, const f32 *x, f32 *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, gelu_grad4(wasm_v128_load(dy + i), wasm_v128_load(x + i)));
  if (i < n) {
    TAIL_IN(dy, tdy) TAIL_IN(x, tx)
    f32 t[4];
    wasm_v128_store(t, gelu_grad4(wasm_v128_load(tdy), wasm_v128_load(tx)));
    TAIL_OUT(dx, t)
  }
}

/* Sum of a row of n floats: four lanes over whole vectors, then the lanes, then the tail. */
INLINE f32 row_sum(const f32 *x, int n) {
  v128_t acc = F4(0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(x + j));
  f32 s = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
          (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
  for (; j < n; j++) s += x[j];
  return s;
}

/* Sum of (x - mean)^2 over a row, the same order as row_sum. */
INLINE f32 row_sq_dev(const f32 *x, int n, f32 mean) {
  const v128_t vm = F4(mean);
  v128_t acc = F4(0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const v128_t d = wasm_f32x4_sub(wasm_v128_load(x + j), vm);
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
  }
  f32 s = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
          (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
  for (; j < n; j++) {
    const f32 d = x[j] - mean;
    s += d * d;
  }
  return s;
}

/*
 * LayerNorm of `rows` rows of n: y = (x - mean) * rstd * w + b with the biased variance and
 * rstd = 1 / sqrt(var + eps) (PyTorch's nn.LayerNorm). Writes each row's mean and rstd.
 */
EXPORT(layer_norm_f32)
void layer_norm_f32(const f32 *x, const f32 *w, const f32 *b, f32 *y, f32 *mean_out, f32 *rstd_out,
                    int rows, int n, f32 eps) {
  const f32 inv_n = 1.0f / (f32)n;
  for (int r = 0; r < rows; r++) {
    const f32 *xr = x + (long)r * n;
    f32 *yr = y + (long)r * n;
    const f32 mean = row_sum(xr, n) * inv_n;
    const f32 var = row_sq_dev(xr, n, mean) * inv_n;
    const f32 rstd = 1.0f / __builtin_sqrtf(var + eps);
    mean_out[r] = mean;
    rstd_out[r] = rstd;
    const v128_t vm = F4(mean), vr = F4(rstd);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vm), vr);
      wasm_v128_store(yr + j, wasm_f32x4_add(wasm_f32x4_mul(xh, wasm_v128_load(w + j)), wasm_v128_load(b + j)));
    }
    for (; j < n; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
  }
}

/*
 * LayerNorm's input gradient, row by row: with xh = (x - mean) * rstd and g = dy * w,
 *   dx = rstd * (g - mean(g) - xh * mean(g * xh)).
 */
EXPORT(layer_norm_grad_f32)
void layer_norm_grad_f32(const f32 *dy, const f32 *x, const f32 *w, const f32 *mean, const f32 *rstd,
                         f32 *dx, int rows, int n) {
  const f32 inv_n = 1.0f / (f32)n;
  for (int r = 0; r < rows; r++) {
    const f32 *dyr = dy + (long)r * n, *xr = x + (long)r * n;
    f32 *dxr = dx + (long)r * n;
    const v128_t vm = F4(mean[r]), vr = F4(rstd[r]);
    v128_t sg = F4(0.0f), sgx = F4(0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const v128_t g = wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(w + j));
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vm), vr);
      sg = wasm_f32x4_add(sg, g);
      sgx = wasm_f32x4_add(sgx, wasm_f32x4_mul(g, xh));
    }
    f32 s1 = (wasm_f32x4_extract_lane(sg, 0) + wasm_f32x4_extract_lane(sg, 1)) +
             (wasm_f32x4_extract_lane(sg, 2) + wasm_f32x4_extract_lane(sg, 3));
    f32 s2 = (wasm_f32x4_extract_lane(sgx, 0) + wasm_f32x4_extract_lane(sgx, 1)) +
             (wasm_f32x4_extract_lane(sgx, 2) + wasm_f32x4_extract_lane(sgx, 3));
    for (int k = j; k < n; k++) {
      const f32 g = dyr[k] * w[k];
      s1 += g;
      s2 += g * ((xr[k] - mean[r]) * rstd[r]);
    }
    const f32 mg = s1 * inv_n, mgx = s2 * inv_n;
    const v128_t vmg = F4(mg), vmgx = F4(mgx);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const v128_t g = wasm_f32x4_mul(wasm_v128_load(dyr + j), wasm_v128_load(w + j));
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vm), vr);
      wasm_v128_store(dxr + j, wasm_f32x4_mul(vr, wasm_f32x4_sub(wasm_f32x4_sub(g, vmg), wasm_f32x4_mul(xh, vmgx))));
    }
    for (; j < n; j++) {
      const f32 g = dyr[j] * w[j];
      const f32 xh = (xr[j] - mean[r]) * rstd[r];
      dxr[j] = rstd[r] * ((g - mg) - xh * mgx);
    }
  }
}

/*
 * LayerNorm's parameter gradients for columns [c0, c0 + cols) of n: dw_j = sum_r dy_rj xh_rj and
 * db_j = sum_r dy_rj, summed over the rows in order (a column split keeps every sum whole).
 */
EXPORT(layer_norm_grad_params_f32)
void layer_norm_grad_params_f32(const f32 *dy, const f32 *x, const f32 *mean, const f32 *rstd,
                                f32 *dw, f32 *db, int rows, int n, int c0, int cols) {
  int j = c0;
  const int end = c0 + cols;
  for (; j + 4 <= end; j += 4) {
    v128_t aw = F4(0.0f), ab = F4(0.0f);
    for (int r = 0; r < rows; r++) {
      const v128_t d = wasm_v128_load(dy + (long)r * n + j);
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + (long)r * n + j), F4(mean[r])), F4(rstd[r]));
      aw = wasm_f32x4_add(aw, wasm_f32x4_mul(d, xh));
      ab = wasm_f32x4_add(ab, d);
    }
    wasm_v128_store(dw + j, aw);
    wasm_v128_store(db + j, ab);
  }
  for (; j < end; j++) {
    f32 aw = 0.0f, ab = 0.0f;
    for (int r = 0; r < rows; r++) {
      const f32 d = dy[(long)r * n + j];
      aw += d * ((x[(long)r * n + j] - mean[r]) * rstd[r]);
      ab += d;
    }
    dw[j] = aw;
    db[j] = ab;
  }
}
