/*
 * Vectorised float32 transcendental functions (4 lanes). All constants are immediates (the
 * module may not have a data segment).
 *
 *  exp:  Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial for e^r,
 *        scaled by 2^n through the exponent bits; 1-2 ulp. Saturates to 0 below -103.97 and to
 *        +inf above 88.72 like expf.
 *  erf:  the rational minimax approximation x P(x^2) / Q(x^2) on [-4, 4] used by Eigen and
 *        TensorFlow ("fast erf"), a few ulp; outside [-4, 4] erf is +/-1 in float32.
 *  tanh: the same family's rational approximation on [-7.9, 7.9] (Eigen
 *        generic_fast_tanh_float), a few ulp; x for |x| < 4e-4, +/-1 beyond the clamp.
 *  log:  frexp-style reduction to m in [sqrt(1/2), sqrt(2)), then the Cephes logf polynomial.
 *
 * Polynomials are evaluated by Horner steps through VMADD: fused multiply-adds in the relaxed
 * build (about a third fewer instructions for erf, which bounds GELU), mul + add otherwise.
 */
#ifndef DINO_KERNELS_SIMD_MATH_H
#define DINO_KERNELS_SIMD_MATH_H

#include "common.h"

#define F4(c) wasm_f32x4_splat(c)

/* a * b + c: one fused multiply-add (relaxed SIMD's f32x4.relaxed_madd) in the relaxed build, a
 * mul and an add otherwise. The relaxed build of a function therefore rounds differently from the
 * baseline one (once per step instead of twice); each build gives the same bits on every thread. */
#ifdef DINO_RELAXED_SIMD
#define VMADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
#else
#define VMADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

/* e^r ~ 1 + r + r^2 P(r) on |r| <= ln2/2 (Cephes expf); returns P(r) (degree 5, Horner). */
INLINE v128_t v_exp_poly(v128_t r) {
  v128_t p = F4(1.9875691500e-4f);
  p = VMADD(p, r, F4(1.3981999507e-3f));
  p = VMADD(p, r, F4(8.3334519073e-3f));
  p = VMADD(p, r, F4(4.1665795894e-2f));
  p = VMADD(p, r, F4(1.6666665459e-1f));
  return VMADD(p, r, F4(5.0000001201e-1f));
}

/* Stores the 4 x 4 block of rows r0..r3 transposed: column j of the block at d + j*ld. */
INLINE void v_store_transposed(v128_t r0, v128_t r1, v128_t r2, v128_t r3, f32 *d, long ld) {
  const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);
  const v128_t t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
  const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
  const v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  wasm_v128_store(d, wasm_i64x2_shuffle(t0, t1, 0, 2));
  wasm_v128_store(d + ld, wasm_i64x2_shuffle(t0, t1, 1, 3));
  wasm_v128_store(d + 2 * ld, wasm_i64x2_shuffle(t2, t3, 0, 2));
  wasm_v128_store(d + 3 * ld, wasm_i64x2_shuffle(t2, t3, 1, 3));
}

INLINE v128_t v_exp(v128_t x) {
  const v128_t hi = F4(88.72283935546875f);
  const v128_t lo = F4(-103.97208f);
  v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, F4(-87.0f)), hi);
  /* n = round(x / ln2) */
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(xc, F4(1.44269504088896341f)));
  /* r = x - n ln2 in two steps (ln2 = 0.693359375 - 2.12194440e-4) */
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(n, F4(0.693359375f)));
  r = wasm_f32x4_add(r, wasm_f32x4_mul(n, F4(2.12194440e-4f)));
  v128_t p = v_exp_poly(r);
  v128_t r2 = wasm_f32x4_mul(r, r);
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, r2), r), F4(1.0f));
  /* scale by 2^n: n in [-126, 128]; split into two factors so n = 128 does not overflow early */
  v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  v128_t n1 = wasm_i32x4_shr(ni, 1);
  v128_t n2 = wasm_i32x4_sub(ni, n1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, wasm_i32x4_splat(127)), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  /* below -87 the reduced argument was clamped: compute the tail with a second scaling */
  v128_t small = wasm_f32x4_lt(x, F4(-87.0f));
  if (wasm_v128_any_true(small)) {
    /* e^x = e^(x + 32 ln2) * 2^-32 for x in [-104, -87): exact scaling keeps denormals right */
    v128_t xs = wasm_f32x4_pmax(x, lo);
    v128_t xt = wasm_f32x4_add(xs, F4(22.18070977791825f));
    v128_t nt = wasm_f32x4_nearest(wasm_f32x4_mul(xt, F4(1.44269504088896341f)));
    v128_t rt = wasm_f32x4_sub(xt, wasm_f32x4_mul(nt, F4(0.693359375f)));
    rt = wasm_f32x4_add(rt, wasm_f32x4_mul(nt, F4(2.12194440e-4f)));
    v128_t q = v_exp_poly(rt);
    q = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(q, wasm_f32x4_mul(rt, rt)), rt), F4(1.0f));
    v128_t st = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(nt), wasm_i32x4_splat(127)), 23);
    v128_t yt = wasm_f32x4_mul(wasm_f32x4_mul(q, st), F4(2.3283064365386963e-10f)); /* 2^-32 */
    yt = wasm_v128_andnot(yt, wasm_f32x4_lt(x, lo));
    y = wasm_v128_bitselect(yt, y, small);
  }
  /* overflow to +inf, NaN passes through */
  y = wasm_v128_bitselect(F4(__builtin_inff()), y, wasm_f32x4_gt(x, hi));
  y = wasm_v128_bitselect(x, y, wasm_f32x4_ne(x, x));
  return y;
}

INLINE v128_t v_erf(v128_t x) {
  v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, F4(-4.0f)), F4(4.0f));
  v128_t x2 = wasm_f32x4_mul(xc, xc);
  v128_t p = F4(-2.72614225801306e-10f);
  p = VMADD(p, x2, F4(2.77068142495902e-08f));
  p = VMADD(p, x2, F4(-2.10102402082508e-06f));
  p = VMADD(p, x2, F4(-5.69250639462346e-05f));
  p = VMADD(p, x2, F4(-7.34990630326855e-04f));
  p = VMADD(p, x2, F4(-2.95459980854025e-03f));
  p = VMADD(p, x2, F4(-1.60960333262415e-02f));
  p = wasm_f32x4_mul(p, xc);
  v128_t q = F4(-1.45660718464996e-05f);
  q = VMADD(q, x2, F4(-2.13374055278905e-04f));
  q = VMADD(q, x2, F4(-1.68282697438203e-03f));
  q = VMADD(q, x2, F4(-7.37332916720468e-03f));
  q = VMADD(q, x2, F4(-1.42647390514189e-02f));
  v128_t y = wasm_f32x4_div(p, q);
  /* tiny |x| (denormals): erf x = 2/sqrt(pi) x in one rounding */
  y = wasm_v128_bitselect(wasm_f32x4_mul(x, F4(1.12837916709551f)), y,
                          wasm_f32x4_lt(wasm_f32x4_abs(x), F4(1e-20f)));
  return wasm_v128_bitselect(x, y, wasm_f32x4_ne(x, x));
}

INLINE v128_t v_tanh(v128_t x) {
  v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, F4(-7.90531110763549805f)), F4(7.90531110763549805f));
  v128_t x2 = wasm_f32x4_mul(xc, xc);
  v128_t p = F4(-2.76076847742355e-16f);
  p = VMADD(p, x2, F4(2.00018790482477e-13f));
  p = VMADD(p, x2, F4(-8.60467152213735e-11f));
  p = VMADD(p, x2, F4(5.12229709037114e-08f));
  p = VMADD(p, x2, F4(1.48572235717979e-05f));
  p = VMADD(p, x2, F4(6.37261928875436e-04f));
  p = VMADD(p, x2, F4(4.89352455891786e-03f));
  p = wasm_f32x4_mul(p, xc);
  v128_t q = F4(1.19825839466702e-06f);
  q = VMADD(q, x2, F4(1.18534705686654e-04f));
  q = VMADD(q, x2, F4(2.26843463243900e-03f));
  q = VMADD(q, x2, F4(4.89352518554385e-03f));
  v128_t y = wasm_f32x4_div(p, q);
  /* tiny |x|: tanh x = x to float precision (the rational form loses the low bits) */
  v128_t tiny = wasm_f32x4_lt(wasm_f32x4_abs(x), F4(0.0004f));
  y = wasm_v128_bitselect(x, y, tiny);
  return wasm_v128_bitselect(x, y, wasm_f32x4_ne(x, x));
}

INLINE v128_t v_log(v128_t x) {
  /* x = m 2^e with m in [sqrt(1/2), sqrt(2)) */
  /* denormals are scaled by 2^23 first so their exponent is visible */
  v128_t den = wasm_f32x4_lt(x, F4(1.17549435e-38f));
  v128_t xi = wasm_v128_bitselect(wasm_f32x4_mul(x, F4(8388608.0f)), x, den);
  v128_t e = wasm_i32x4_sub(wasm_u32x4_shr(xi, 23), wasm_i32x4_splat(127));
  e = wasm_i32x4_sub(e, wasm_v128_and(den, wasm_i32x4_splat(23)));
  v128_t m = wasm_v128_or(wasm_v128_and(xi, wasm_i32x4_splat(0x007fffff)), wasm_i32x4_splat(0x3f800000));
  v128_t big = wasm_f32x4_gt(m, F4(1.41421356237f));
  m = wasm_v128_bitselect(wasm_f32x4_mul(m, F4(0.5f)), m, big);
  e = wasm_i32x4_sub(e, big); /* big is -1 where true */
  v128_t ef = wasm_f32x4_convert_i32x4(e);
  v128_t t = wasm_f32x4_sub(m, F4(1.0f));
  v128_t t2 = wasm_f32x4_mul(t, t);
  v128_t p = F4(7.0376836292e-2f);
  p = VMADD(p, t, F4(-1.1514610310e-1f));
  p = VMADD(p, t, F4(1.1676998740e-1f));
  p = VMADD(p, t, F4(-1.2420140846e-1f));
  p = VMADD(p, t, F4(1.4249322787e-1f));
  p = VMADD(p, t, F4(-1.6668057665e-1f));
  p = VMADD(p, t, F4(2.0000714765e-1f));
  p = VMADD(p, t, F4(-2.4999993993e-1f));
  p = VMADD(p, t, F4(3.3333331174e-1f));
  p = wasm_f32x4_mul(wasm_f32x4_mul(p, t), t2);
  p = wasm_f32x4_add(p, wasm_f32x4_mul(ef, F4(-2.12194440e-4f)));
  p = wasm_f32x4_sub(p, wasm_f32x4_mul(t2, F4(0.5f)));
  v128_t y = wasm_f32x4_add(wasm_f32x4_add(t, p), wasm_f32x4_mul(ef, F4(0.693359375f)));
  /* specials: log 0 = -inf, log(x < 0) = NaN, log inf = inf, NaN -> NaN */
  y = wasm_v128_bitselect(F4(-__builtin_inff()), y, wasm_f32x4_eq(x, F4(0.0f)));
  y = wasm_v128_bitselect(F4(__builtin_nanf("")), y, wasm_f32x4_lt(x, F4(0.0f)));
  y = wasm_v128_bitselect(x, y, wasm_v128_or(wasm_f32x4_eq(x, F4(__builtin_inff())), wasm_f32x4_ne(x, x)));
  return y;
}

INLINE v128_t v_sigmoid(v128_t x) {
  /* 1 / (1 + e^-x); e^-x saturates to inf for x < -88.7, giving exactly 0 */
  return wasm_f32x4_div(F4(1.0f), wasm_f32x4_add(F4(1.0f), v_exp(wasm_f32x4_neg(x))));
}

/* e^x - 1 without cancellation near 0: Taylor series to x^8 for |x| < ln2/2, else exp - 1 */
INLINE v128_t v_expm1(v128_t x) {
  v128_t p = F4(2.48015873e-5f); /* 1/8! */
  p = VMADD(p, x, F4(1.98412698e-4f));
  p = VMADD(p, x, F4(1.38888889e-3f));
  p = VMADD(p, x, F4(8.33333333e-3f));
  p = VMADD(p, x, F4(4.16666667e-2f));
  p = VMADD(p, x, F4(1.66666667e-1f));
  p = VMADD(p, x, F4(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, x), x), x);
  v128_t big = wasm_f32x4_sub(v_exp(x), F4(1.0f));
  return wasm_v128_bitselect(p, big, wasm_f32x4_lt(wasm_f32x4_abs(x), F4(0.34657359f)));
}

INLINE v128_t v_elu(v128_t x) {
  v128_t neg = v_expm1(wasm_f32x4_pmin(x, F4(0.0f)));
  return wasm_v128_bitselect(x, neg, wasm_f32x4_gt(x, F4(0.0f)));
}

/*
 * x^y = e^(y ln|x|) with the sign and special cases of powf: y = 0 or x = 1 give 1; x < 0 gives
 * a negative result for odd integer y and (x finite) NaN for non-integer y; 0^y is 0 (y > 0) or +inf
 * (y < 0); infinities follow from log and exp. Relative error ~ |y ln x| 2^-24 + 2 ulp.
 */
INLINE v128_t v_pow(v128_t x, v128_t y) {
  v128_t ax = wasm_f32x4_abs(x);
  v128_t r = v_exp(wasm_f32x4_mul(y, v_log(ax)));
  v128_t yint = wasm_f32x4_eq(wasm_f32x4_nearest(y), y);
  v128_t half = wasm_f32x4_mul(y, F4(0.5f));
  v128_t yodd = wasm_v128_andnot(yint, wasm_f32x4_eq(wasm_f32x4_nearest(half), half));
  v128_t neg = wasm_f32x4_lt(x, F4(0.0f));
  r = wasm_v128_bitselect(wasm_f32x4_neg(r), r, wasm_v128_and(neg, yodd));
  /* a negative finite base with a non-integer exponent has no real power (-inf^y is +-inf or 0) */
  v128_t finite = wasm_f32x4_lt(ax, F4(__builtin_inff()));
  r = wasm_v128_bitselect(F4(__builtin_nanf("")), r, wasm_v128_andnot(wasm_v128_and(neg, finite), yint));
  /* 0^y for odd y keeps the sign of zero (pow(-0, 3) = -0) */
  v128_t zero = wasm_f32x4_eq(x, F4(0.0f));
  r = wasm_v128_bitselect(wasm_v128_or(r, wasm_v128_and(x, wasm_v128_and(yodd, wasm_i32x4_splat((int)0x80000000)))), r, zero);
  v128_t one = wasm_v128_or(wasm_f32x4_eq(y, F4(0.0f)), wasm_f32x4_eq(x, F4(1.0f)));
  return wasm_v128_bitselect(F4(1.0f), r, one);
}

#endif
