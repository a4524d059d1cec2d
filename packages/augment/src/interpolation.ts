/**
 * Resampling weights as dense matrices, built on the host. Resizing is linear and separable, so a
 * crop-and-resize of one image is R_y · X · R_xᵀ with R_y [outH, H] and R_x [outW, W]; a matrix
 * holds any crop box, a flip (its rows reversed) and the border rule in one place.
 *
 * The weights follow PyTorch's `interpolate` (what torchvision 0.14 `F.resize` calls on tensors):
 * align_corners=False, no antialiasing (torchvision 0.14's default for tensors), source
 * coordinate (dst + 0.5) · in/out − 0.5, taps clamped to the crop's own edge.
 */

export type Interpolation = 'bilinear' | 'bicubic';
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'bicubic'];

/** Keys' cubic convolution parameter used by PyTorch's upsample_bicubic2d. */
const CUBIC_A = -0.75;

/** Cubic convolution weights of the four taps at offsets -1, 0, 1, 2 for fraction t in [0, 1). */
export function cubicWeights(t: number): [number, number, number, number] {
  const a = CUBIC_A;
  // |x| <= 1: ((a + 2)|x| - (a + 3))|x|² + 1;  1 < |x| < 2: a|x|³ - 5a|x|² + 8a|x| - 4a
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * Weights [outSize, fullLen] (row-major) that resample the segment [start, start + len) of an
 * axis of length `fullLen` to `outSize` samples; with `flip`, output sample o is written to row
 * outSize − 1 − o (a horizontal flip after the resize).
 */
export function resampleMatrix(
  fullLen: number,
  start: number,
  len: number,
  outSize: number,
  method: Interpolation,
  flip = false,
): Float32Array {
  const m = new Float32Array(outSize * fullLen);
  const scale = len / outSize;
  const last = len - 1;
  for (let o = 0; o < outSize; o++) {
    const row = (flip ? outSize - 1 - o : o) * fullLen + start;
    const src = scale * (o + 0.5) - 0.5;
    if (method === 'bilinear') {
      const s = Math.max(src, 0);
      const i0 = Math.floor(s);
      const i1 = i0 < last ? i0 + 1 : i0;
      const l1 = s - i0;
      m[row + Math.min(i0, last)] += 1 - l1;
      m[row + Math.min(i1, last)] += l1;
    } else {
      const i = Math.floor(src);
      const w = cubicWeights(src - i);
      for (let k = 0; k < 4; k++) {
        const idx = Math.min(Math.max(i - 1 + k, 0), last);
        m[row + idx] += w[k];
      }
    }
  }
  return m;
}
