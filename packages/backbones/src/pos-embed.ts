/**
 * Bicubic interpolation of the position embedding to another patch grid, as the reference's
 * `VisionTransformer.interpolate_pos_encoding`, which calls
 * `F.interpolate(mode='bicubic', align_corners=False, scale_factor=(h0 / gh, w0 / gw))` with
 * h0 = rows + 0.1, w0 = cols + 0.1 (the 0.1 keeps floor(g * scale) from landing one short,
 * dino issue #8).
 *
 * Bicubic resampling is separable and linear, so it is written as two constant matrices,
 * rows [h, gh] and cols [w, gw], applied with matMul: exact, differentiable on every backend, and
 * cheap. The matrices depend only on the sizes and are cached.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Keys's cubic convolution coefficient used by PyTorch (and OpenCV) for bicubic. */
export const BICUBIC_A = -0.75;

const f32 = Math.fround;

// PyTorch's cubic_convolution1/2 (|x| <= 1 and 1 < |x| < 2), evaluated in float32 like its kernel.
function cubic1(x: number, a: number): number {
  const p = f32(f32(f32(a + 2) * x) - f32(a + 3));
  return f32(f32(f32(p * x) * x) + 1);
}

function cubic2(x: number, a: number): number {
  const p = f32(f32(f32(a * x) - f32(5 * a)) * x);
  return f32(f32(f32(p + f32(8 * a)) * x) - f32(4 * a));
}

/**
 * The [outSize, inSize] matrix of PyTorch's 1-D bicubic resampling (align_corners=False) with
 * an explicit scale factor: output i reads source coordinate (i + 0.5) / scaleFactor - 0.5, taps
 * floor - 1 .. floor + 2 with A = -0.75, indices clamped to the border. PyTorch maps coordinates
 * with the given scale factor, not inSize / outSize, and computes them in float32; so does this.
 */
export function bicubicMatrix(inSize: number, outSize: number, scaleFactor: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = f32(1 / scaleFactor);
  for (let i = 0; i < outSize; i++) {
    const real = f32(scale * (i + 0.5) - 0.5);
    const idx = Math.floor(real);
    const t = f32(real - idx);
    const t2 = f32(1 - t);
    const w = [cubic2(f32(t + 1), BICUBIC_A), cubic1(t, BICUBIC_A), cubic1(t2, BICUBIC_A), cubic2(f32(t2 + 1), BICUBIC_A)];
    for (let k = 0; k < 4; k++) {
      const src = Math.min(Math.max(idx - 1 + k, 0), inSize - 1);
      m[i * inSize + src] += w[k];
    }
  }
  return m;
}

interface GridMatrices {
  rows: Float32Array;
  cols: Float32Array;
}

const cache = new Map<string, GridMatrices>();

/**
 * The row and column matrices taking a [gh, gw] grid to [h, w] the way the reference does
 * (scale factors (h + 0.1) / gh and (w + 0.1) / gw), cached per grid pair.
 */
export function posEmbedMatrices(from: [number, number], to: [number, number]): GridMatrices {
  const key = `${from[0]}x${from[1]}>${to[0]}x${to[1]}`;
  let m = cache.get(key);
  if (!m) {
    const sh = (to[0] + 0.1) / from[0];
    const sw = (to[1] + 0.1) / from[1];
    // The reference asserts that PyTorch's output size, floor(g * scale), is the wanted grid.
    if (Math.floor(from[0] * sh) !== to[0] || Math.floor(from[1] * sw) !== to[1]) {
      throw new Error(`pos-embed interpolation ${key}: scale factor does not reproduce the grid`);
    }
    m = { rows: bicubicMatrix(from[0], to[0], sh), cols: bicubicMatrix(from[1], to[1], sw) };
    cache.set(key, m);
  }
  return m;
}

/**
 * Position embedding for a [rows, cols] patch grid from one built for `grid`: the CLS entry is
 * kept, the patch entries are resampled bicubically. Returned unchanged when the grids match (as
 * the reference, which skips the interpolation then).
 *
 * @param posEmbed [1, 1 + grid[0] * grid[1], D]
 * @returns [1, 1 + rows * cols, D]
 *
 * @example
 * const pe = interpolatePosEmbed(vit.posEmbed, [14, 14], [6, 6]); // 224 px model, 96 px crop
 */
export function interpolatePosEmbed(
  posEmbed: tf.Tensor,
  grid: [number, number],
  target: [number, number],
): tf.Tensor3D {
  const [gh, gw] = grid;
  const [h, w] = target;
  if (gh === h && gw === w) return posEmbed as tf.Tensor3D;
  return tf.tidy(() => {
    const dim = posEmbed.shape[2] as number;
    const { rows, cols } = posEmbedMatrices(grid, target);
    const clsPos = tf.slice(posEmbed, [0, 0, 0], [1, 1, dim]);
    const patchPos = tf.reshape(tf.slice(posEmbed, [0, 1, 0], [1, gh * gw, dim]), [gh, gw * dim]);
    // Rows: [h, gh] x [gh, gw*D] -> [h, gw, D].
    const byRows = tf.reshape(tf.matMul(tf.tensor2d(rows, [h, gh]), patchPos), [h, gw, dim]);
    // Columns: bring gw to the front, [w, gw] x [gw, h*D] -> [w, h, D], then back to [h, w, D].
    const colsFirst = tf.reshape(tf.transpose(byRows, [1, 0, 2]), [gw, h * dim]);
    const both = tf.reshape(tf.matMul(tf.tensor2d(cols, [w, gw]), colsFirst), [w, h, dim]);
    const patch = tf.reshape(tf.transpose(both, [1, 0, 2]), [1, h * w, dim]);
    return tf.concat([clsPos, patch], 1) as tf.Tensor3D;
  });
}
