/*
 * Strided block copies of 4-byte elements: slices (Slice, SplitV, Unpack) and placing inputs
 * into a concatenation (Concat, Pack). The stock Slice kernel first copies the whole input out
 * of wasm memory (readSync) for every slice; these copy only the slice, in place.
 */
#include "common.h"

#define MAX_RANK 8

/*
 * out = x[begin : begin + size] for x of shape `shape` (rank dims, row-major), out contiguous.
 */
EXPORT(slice32)
void slice32(const i32 *x, i32 *out, int rank, const i32 *shape, const i32 *begin, const i32 *size) {
  long stride[MAX_RANK], idx[MAX_RANK];
  long s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  long base = 0;
  for (int d = 0; d < rank; d++) base += (long)begin[d] * stride[d];
  const int last = rank - 1;
  const long n = size[last];
  long rows = 1;
  for (int d = 0; d < last; d++) rows *= size[d];
  if (rows * n == 0) return;
  for (int d = 0; d < rank; d++) idx[d] = 0;
  long src = base;
  for (long r = 0; r < rows; r++) {
    __builtin_memcpy(out + r * n, x + src, (unsigned long)n * 4);
    for (int d = last - 1; d >= 0; d--) {
      src += stride[d];
      if (++idx[d] < size[d]) break;
      src -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
}

/*
 * Copies `rows` rows of `n` elements from x (row stride n) to out (row stride ldo): the block of
 * one input inside a concatenation along an axis.
 */
EXPORT(copy_rows32)
void copy_rows32(const i32 *x, i32 *out, int rows, int n, int ldo) {
  for (int r = 0; r < rows; r++) __builtin_memcpy(out + (long)r * ldo, x + (long)r * n, (unsigned long)n * 4);
}
