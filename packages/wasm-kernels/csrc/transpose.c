/*
 * N-D transpose of 4-byte elements (float32 / int32), out[...] = in[perm(...)].
 *
 * The caller first drops size-1 dimensions and merges input dimensions that stay adjacent and in
 * order in the output, so rank is small and the two cases below cover everything:
 *  - the innermost dimension stays innermost: the output is a sequence of contiguous rows of the
 *    input, copied with memory.copy;
 *  - otherwise a 2-D transpose between the input's innermost dimension and the dimension that
 *    becomes the output's innermost, done in 4x4 register blocks within cache tiles, for every
 *    index of the remaining dimensions.
 * The stock tfjs-wasm kernel walks the output element by element with index arithmetic, which
 * made the 5-D attention transposes of a ViT cost more than its forward matmuls.
 */
#include "simd_math.h"

#define MAX_RANK 8
#define TILE 64

/* 4x4 block: out rows j..j+3 (stride ldo) get the columns of in rows i..i+3 (stride ldi). */
INLINE void block4x4(const i32 *in, int ldi, i32 *out, int ldo) {
  v128_t r0 = wasm_v128_load(in);
  v128_t r1 = wasm_v128_load(in + ldi);
  v128_t r2 = wasm_v128_load(in + 2 * (long)ldi);
  v128_t r3 = wasm_v128_load(in + 3 * (long)ldi);
  v_store_transposed(r0, r1, r2, r3, (f32 *)out, ldo);
}

/* out[j*ldo + i] = in[i*ldi + j] for i < rows, j < cols. */
static void transpose2d(const i32 *in, int ldi, i32 *out, int ldo, int rows, int cols) {
  for (int i0 = 0; i0 < rows; i0 += TILE) {
    const int i1 = imin(rows, i0 + TILE);
    for (int j0 = 0; j0 < cols; j0 += TILE) {
      const int j1 = imin(cols, j0 + TILE);
      int i = i0;
      for (; i + 4 <= i1; i += 4) {
        int j = j0;
        for (; j + 4 <= j1; j += 4) block4x4(in + (long)i * ldi + j, ldi, out + (long)j * ldo + i, ldo);
        for (; j < j1; j++) {
          i32 *o = out + (long)j * ldo + i;
          const i32 *s = in + (long)i * ldi + j;
          o[0] = s[0];
          o[1] = s[ldi];
          o[2] = s[2 * (long)ldi];
          o[3] = s[3 * (long)ldi];
        }
      }
      for (; i < i1; i++) {
        for (int j = j0; j < j1; j++) out[(long)j * ldo + i] = in[(long)i * ldi + j];
      }
    }
  }
}

/*
 * Writes output indices [begin, begin + count) of the output's first dimension (a thread's share
 * of one transpose; begin 0 and count = that dimension's size for all of it).
 */
EXPORT(transpose32)
void transpose32(const i32 *in, i32 *out, int rank, const i32 *shape, const i32 *perm, int begin, int count) {
  long istride[MAX_RANK], ostride[MAX_RANK], oshape[MAX_RANK], idx[MAX_RANK];
  long total = 1;
  for (int d = rank - 1; d >= 0; d--) {
    istride[d] = total;
    total *= shape[d];
  }
  if (total == 0 || count <= 0) return;
  long acc = 1;
  for (int d = rank - 1; d >= 0; d--) {
    oshape[d] = shape[perm[d]];
    ostride[d] = acc;
    acc *= oshape[d];
  }
  /* The share: the full tensor's strides, a shorter first output dimension. */
  in += (long)begin * istride[perm[0]];
  out += (long)begin * ostride[0];
  total = total / oshape[0] * count;
  oshape[0] = count;
  const int last = rank - 1;

  if (perm[last] == last) {
    /* Rows of length L stay contiguous: walk the output rows in order. */
    const long L = oshape[last]; /* = shape[last] */
    long rows = total / L;
    for (int d = 0; d < last; d++) idx[d] = 0;
    long src = 0;
    i32 *dst = out;
    for (long r = 0; r < rows; r++) {
      __builtin_memcpy(dst, in + src, (unsigned long)L * 4);
      dst += L;
      /* Advance the output index odometer over dims 0..last-1, updating the input offset. */
      for (int d = last - 1; d >= 0; d--) {
        src += istride[perm[d]];
        if (++idx[d] < oshape[d]) break;
        src -= istride[perm[d]] * oshape[d];
        idx[d] = 0;
      }
    }
    return;
  }

  /* p: input dim that becomes the output's innermost; q: output dim holding the input's
   * innermost dim. For each index of the other output dims, a rows x cols 2-D transpose. */
  const int p = perm[last];
  int q = 0;
  for (int d = 0; d < rank; d++)
    if (perm[d] == last) q = d;
  const int rows = (int)oshape[last]; /* = shape[p] */
  const int cols = (int)oshape[q]; /* = shape[last], or the share when q is the first dim */
  const long ldi = istride[p];
  const long ldo = ostride[q];
  long outer = total / ((long)rows * cols);
  for (int d = 0; d < rank; d++) idx[d] = 0;
  long src = 0, dst = 0;
  for (long r = 0; r < outer; r++) {
    transpose2d(in + src, (int)ldi, out + dst, (int)ldo, rows, cols);
    for (int d = last - 1; d >= 0; d--) {
      if (d == q) continue;
      src += istride[perm[d]];
      dst += ostride[d];
      if (++idx[d] < oshape[d]) break;
      src -= istride[perm[d]] * oshape[d];
      dst -= ostride[d] * oshape[d];
      idx[d] = 0;
    }
  }
}
