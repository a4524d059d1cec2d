/*
 * Single-precision GEMM, C[M,N] (=|+=) op(A)[M,K] * op(B)[K,N], in the GotoBLAS/BLIS layout:
 * B is packed into panels NR columns wide, A into panels MR rows high, and a register-blocked
 * micro-kernel multiplies one A panel by one B panel. Transposes are only strides here: the
 * packing routines read A(i,k) = a[i*ars + k*acs] and B(k,j) = b[k*brs + j*bcs], so every
 * transpose combination runs the same micro-kernel (the stock tfjs-wasm kernel falls back to a
 * naive loop for transposed operands, which is what makes backward passes slow).
 *
 * Micro-kernel: MR x NR = 4 x 8 floats = 8 four-lane accumulators. V8 on x86-64 leaves 15 SIMD
 * registers to wasm code and hoists the A broadcasts of a step ahead of their uses, and baseline
 * wasm SIMD has no FMA (each step is a mul into a temporary, then an add): 8 accumulators + 2 B
 * vectors + 4 broadcasts + 1 temporary is the largest tile that does not spill. Measured on the
 * project's machine: 4x8 ~30 GFLOP/s, 6x8 and 5x8 ~20 (spilling); with relaxed SIMD's fused
 * multiply-add (the second build of this file, used where the engine supports it) there is no
 * temporary, and a 6x8 tile fits (below). This file is compiled with loop strength reduction off, which keeps one pointer per panel
 * with constant load offsets (V8 folds them into the addressing mode).
 */
#include "simd_math.h"

/* Multiply-add of the micro-kernel: simd_math.h's VMADD, a fused multiply-add (relaxed SIMD's
 * f32x4.relaxed_madd, one instruction) in the relaxed build, a mul and an add otherwise. */
#define MADD(a, b, c) VMADD((a), (b), (c))

/* With fused multiply-add no temporary is needed, so the relaxed build affords 12 accumulators:
 * 6 x 8 measured ~62 GFLOP/s in L1 against ~57 for 4 x 8 (7 x 8 and 4 x 12 spill, ~35 and ~30).
 * Each C element still sums its K products in the same order, so both tiles give the same bits. */
#ifdef DINO_RELAXED_SIMD
#define MR 6
#else
#define MR 4
#endif
#define NR 8
/* The edge tile is sized for the larger MR so both builds ask for the same workspace. */
#define MR_MAX 6
/* K blocks of 384: a ViT's K = 384 products (ViT-S/16's qkv, proj, fc1) in one block, so each C
 * tile is stored once, not stored, reloaded and stored again (ViT-S/16 inference 1.2% faster than
 * with 256; 512 was no better). The A and B panels of one micro-kernel call, 9 + 12 KiB, stay
 * in L1. */
#define KC 384
#define MC 120 /* multiple of both MRs; an A block is MC*KC*4 = 180 KiB (L2) */
#define NC 1024 /* multiple of NR; a B block is KC*NC*4 = 1.5 MiB (L2/L3) */

/* Floats of workspace gemm needs: the packed A block, the packed B block and one edge tile. */
EXPORT(gemm_workspace_floats) int gemm_workspace_floats(void) {
  return MC * KC + KC * NC + MR_MAX * NR;
}

/* Packs an mc x kc block of A into ceil(mc/MR) panels, each kc steps of MR values (rows past mc
 * are zero so the micro-kernel never branches). */
static void pack_a(int mc, int kc, const f32 *a, int ars, int acs, f32 *ap) {
  for (int i0 = 0; i0 < mc; i0 += MR) {
    const int mr = imin(MR, mc - i0);
    const f32 *src = a + (long)i0 * ars;
    if (ars == 1 && mr == MR) {
      /* A is stored column-major here (transposeA): the MR values of one step are contiguous. */
      for (int k = 0; k < kc; k++) {
        const f32 *s = src + (long)k * acs;
        wasm_v128_store(ap + k * MR, wasm_v128_load(s));
#if MR == 6
        ap[k * MR + 4] = s[4];
        ap[k * MR + 5] = s[5];
#endif
      }
    } else if (acs == 1 && mr == MR) {
      /* Row-major A (a Linear layer's input): each row is contiguous in k. Transpose 4 x 4 blocks
       * in registers (rows 4 and 5 of a 6-row panel in pairs), so the reads are whole vectors, as
       * pack_b's are for a transposed B. */
      int k = 0;
      for (; k + 4 <= kc; k += 4) {
        const f32 *s = src + k;
        v128_t r0 = wasm_v128_load(s);
        v128_t r1 = wasm_v128_load(s + ars);
        v128_t r2 = wasm_v128_load(s + 2 * (long)ars);
        v128_t r3 = wasm_v128_load(s + 3 * (long)ars);
        f32 *d = ap + k * MR;
        v_store_transposed(r0, r1, r2, r3, d, MR);
#if MR == 6
        v128_t r4 = wasm_v128_load(s + 4 * (long)ars);
        v128_t r5 = wasm_v128_load(s + 5 * (long)ars);
        v128_t u = wasm_i32x4_shuffle(r4, r5, 0, 4, 1, 5);
        v128_t w = wasm_i32x4_shuffle(r4, r5, 2, 6, 3, 7);
        wasm_v128_store64_lane(d + 4, u, 0);
        wasm_v128_store64_lane(d + MR + 4, u, 1);
        wasm_v128_store64_lane(d + 2 * MR + 4, w, 0);
        wasm_v128_store64_lane(d + 3 * MR + 4, w, 1);
#endif
      }
      for (; k < kc; k++) {
        for (int ii = 0; ii < MR; ii++) ap[k * MR + ii] = src[(long)ii * ars + k];
      }
    } else {
      for (int ii = 0; ii < mr; ii++) {
        const f32 *row = src + (long)ii * ars;
        f32 *d = ap + ii;
        if (acs == 1) {
          for (int k = 0; k < kc; k++) d[k * MR] = row[k];
        } else {
          for (int k = 0; k < kc; k++) d[k * MR] = row[(long)k * acs];
        }
      }
      for (int ii = mr; ii < MR; ii++) {
        for (int k = 0; k < kc; k++) ap[k * MR + ii] = 0.0f;
      }
    }
    ap += MR * kc;
  }
}

/* Packs a kc x nc block of B into ceil(nc/NR) panels, each kc steps of NR values. */
static void pack_b(int kc, int nc, const f32 *b, int brs, int bcs, f32 *bp) {
  for (int j0 = 0; j0 < nc; j0 += NR) {
    const int nr = imin(NR, nc - j0);
    const f32 *src = b + (long)j0 * bcs;
    if (bcs == 1 && nr == NR) {
      for (int k = 0; k < kc; k++) {
        const f32 *s = src + (long)k * brs;
        wasm_v128_store(bp + k * NR, wasm_v128_load(s));
        wasm_v128_store(bp + k * NR + 4, wasm_v128_load(s + 4));
      }
    } else if (brs == 1 && nr == NR) {
      /* B is stored transposed (transposeB): each column is contiguous in k. Transpose 4x4
       * blocks in registers so both the reads and the writes are whole vectors. */
      int k = 0;
      for (; k + 4 <= kc; k += 4) {
        for (int h = 0; h < 2; h++) {
          const f32 *s = src + (long)(4 * h) * bcs + k;
          v128_t r0 = wasm_v128_load(s);
          v128_t r1 = wasm_v128_load(s + bcs);
          v128_t r2 = wasm_v128_load(s + 2 * (long)bcs);
          v128_t r3 = wasm_v128_load(s + 3 * (long)bcs);
          v_store_transposed(r0, r1, r2, r3, bp + k * NR + 4 * h, NR);
        }
      }
      for (; k < kc; k++) {
        for (int jj = 0; jj < NR; jj++) bp[k * NR + jj] = src[(long)jj * bcs + k];
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const f32 *s = src + (long)k * brs;
        f32 *d = bp + k * NR;
        int jj = 0;
        for (; jj < nr; jj++) d[jj] = s[(long)jj * bcs];
        for (; jj < NR; jj++) d[jj] = 0.0f;
      }
    }
    bp += NR * kc;
  }
}

#define ROW_STEP(r)                                                   \
  {                                                                   \
    const v128_t av = wasm_v128_load32_splat(ap + (r));               \
    c##r##0 = MADD(av, b0, c##r##0);                                  \
    c##r##1 = MADD(av, b1, c##r##1);                                  \
  }

#define ROW_STORE(r)                                                              \
  {                                                                               \
    f32 *cr = c + (long)(r) * ldc;                                                \
    if (accumulate) {                                                             \
      c##r##0 = wasm_f32x4_add(c##r##0, wasm_v128_load(cr));                      \
      c##r##1 = wasm_f32x4_add(c##r##1, wasm_v128_load(cr + 4));                  \
    }                                                                             \
    if (bias) {                                                                   \
      c##r##0 = wasm_f32x4_add(c##r##0, bias0);                                   \
      c##r##1 = wasm_f32x4_add(c##r##1, bias1);                                   \
    }                                                                             \
    wasm_v128_store(cr, c##r##0);                                                 \
    wasm_v128_store(cr + 4, c##r##1);                                             \
  }

/* c[0..MR, 0..NR] (=|+=) one A panel times one B panel (kc steps), plus bias[0..NR] on every
 * row when bias is not null (the last K block: the sum is complete, so the result is the bits of
 * a separate bias pass). Kept out of line: inlined into gemm_one's two call sites, V8's register
 * allocator spilled the 6 x 8 tile's accumulators (half the speed). */
__attribute__((noinline)) static void micro_kernel(int kc, const f32 *restrict ap, const f32 *restrict bp, f32 *restrict c,
                         int ldc, int accumulate, const f32 *restrict bias) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  v128_t c30 = c00, c31 = c00;
#if MR == 6
  v128_t c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#endif
  for (int k = 0; k < kc; k++) {
    const v128_t b0 = wasm_v128_load(bp);
    const v128_t b1 = wasm_v128_load(bp + 4);
    ROW_STEP(0)
    ROW_STEP(1)
    ROW_STEP(2)
    ROW_STEP(3)
#if MR == 6
    ROW_STEP(4)
    ROW_STEP(5)
#endif
    ap += MR;
    bp += NR;
  }
  const v128_t bias0 = bias ? wasm_v128_load(bias) : c00, bias1 = bias ? wasm_v128_load(bias + 4) : c00;
  ROW_STORE(0)
  ROW_STORE(1)
  ROW_STORE(2)
  ROW_STORE(3)
#if MR == 6
  ROW_STORE(4)
  ROW_STORE(5)
#endif
}

/*
 * C[M,N] = op(A) * op(B) (+ bias[N] on every row when bias is not null), C row-major with row
 * stride ldc. ws: gemm_workspace_floats() floats.
 */
void gemm_one(int M, int N, int K, const f32 *a, int ars, int acs, const f32 *b, int brs, int bcs,
              f32 *c, int ldc, f32 *ws, const f32 *bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) c[(long)i * ldc + j] = bias ? 0.0f + bias[j] : 0.0f;
    return;
  }
  f32 *ap = ws;
  f32 *bp = ws + MC * KC;
  f32 *tile = bp + KC * NC;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = imin(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = imin(KC, K - pc);
      const int accumulate = pc > 0;
      /* the bias joins the last K block's store, after the sum is complete */
      const f32 *bias_c = bias && pc + kc >= K ? bias + jc : 0;
      pack_b(kc, nc, b + (long)pc * brs + (long)jc * bcs, brs, bcs, bp);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = imin(MC, M - ic);
        pack_a(mc, kc, a + (long)ic * ars + (long)pc * acs, ars, acs, ap);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = imin(NR, nc - jr);
          const f32 *bpanel = bp + jr * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = imin(MR, mc - ir);
            const f32 *apanel = ap + ir * kc;
            f32 *cc = c + (long)(ic + ir) * ldc + jc + jr;
            const f32 *bias_r = bias_c ? bias_c + jr : 0;
            if (mr == MR && nr == NR) {
              micro_kernel(kc, apanel, bpanel, cc, ldc, accumulate, bias_r);
            } else {
              micro_kernel(kc, apanel, bpanel, tile, NR, 0, 0);
              for (int i = 0; i < mr; i++) {
                for (int j = 0; j < nr; j++) {
                  f32 v = tile[i * NR + j];
                  if (accumulate) v = cc[(long)i * ldc + j] + v;
                  if (bias_r) v = v + bias_r[j];
                  cc[(long)i * ldc + j] = v;
                }
              }
            }
          }
        }
      }
    }
  }
}

/*
 * Batched GEMM: for t in [0, batch): C_t = op(A_t) * op(B_t) (+ bias[N] on every row when bias
 * is not null) with A_t = a + t*sa, B_t = b + t*sb,
 * C_t = c + t*sc, each C_t row-major with row stride ldc. A stride of 0 broadcasts that operand.
 * The explicit C strides let a thread pool give each thread a block of rows or columns of one
 * product: every C element is still computed by the same micro-kernel over the same K blocks, so
 * any split gives the same bits as one thread.
 */
EXPORT(gemm_strided)
void gemm_strided(int batch, int M, int N, int K, const f32 *a, int sa, int ars, int acs,
                  const f32 *b, int sb, int brs, int bcs, f32 *c, int sc, int ldc, f32 *ws,
                  const f32 *bias) {
  for (int t = 0; t < batch; t++) {
    gemm_one(M, N, K, a + (long)t * sa, ars, acs, b + (long)t * sb, brs, bcs, c + (long)t * sc,
             ldc, ws, bias);
  }
}

/*
 * Epilogue of _FusedMatMul on a [rows, n] output: add bias (bias_mode 0 none, 1 rows of n: row i
 * uses bias row i % bias_rows, 2 scalar), then the activation (0 linear, 1 relu, 2 relu6,
 * 3 leakyrelu with slope alpha, 4 elu, 5 sigmoid).
 */
EXPORT(bias_activation)
void bias_activation(f32 *c, int rows, int n, const f32 *bias, int bias_mode, int bias_rows,
                     int act, f32 alpha) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t six = wasm_f32x4_splat(6.0f);
  const v128_t va = wasm_f32x4_splat(alpha);
  for (int i = 0; i < rows; i++) {
    f32 *row = c + (long)i * n;
    const f32 *brow = bias_mode == 1 ? bias + (long)(i % bias_rows) * n : bias;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t v = wasm_v128_load(row + j);
      if (bias_mode == 1) v = wasm_f32x4_add(v, wasm_v128_load(brow + j));
      else if (bias_mode == 2) v = wasm_f32x4_add(v, wasm_f32x4_splat(bias[0]));
      if (act == 1) v = wasm_f32x4_pmax(v, zero);
      else if (act == 2) v = wasm_f32x4_pmin(wasm_f32x4_pmax(zero, v), six);
      else if (act == 3) v = wasm_v128_bitselect(v, wasm_f32x4_mul(v, va), wasm_f32x4_gt(v, zero));
      else if (act == 4) v = v_elu(v);
      else if (act == 5) v = v_sigmoid(v);
      wasm_v128_store(row + j, v);
    }
    for (; j < n; j++) {
      /* the tail through lane 0 of the same vector code, so every element rounds alike */
      v128_t v = wasm_f32x4_splat(row[j]);
      if (bias_mode == 1) v = wasm_f32x4_add(v, wasm_f32x4_splat(brow[j]));
      else if (bias_mode == 2) v = wasm_f32x4_add(v, wasm_f32x4_splat(bias[0]));
      if (act == 1) v = wasm_f32x4_pmax(v, zero);
      else if (act == 2) v = wasm_f32x4_pmin(wasm_f32x4_pmax(zero, v), six);
      else if (act == 3) v = wasm_v128_bitselect(v, wasm_f32x4_mul(v, va), wasm_f32x4_gt(v, zero));
      else if (act == 4) v = v_elu(v);
      else if (act == 5) v = v_sigmoid(v);
      row[j] = wasm_f32x4_extract_lane(v, 0);
    }
  }
}
