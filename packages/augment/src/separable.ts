/**
 * Per-sample separable linear maps of an image batch: out_b = R_b · X_b · C_bᵀ on every channel,
 * the common core of the resized crop and the Gaussian blur.
 *
 * Two ways to run it, equal up to float rounding:
 * - 'batched': two batched matMuls and two batched transposes, a handful of ops for any batch.
 * - 'per-sample': two matMuls per sample. The stock wasm backend runs a batched matMul about 10x
 *   slower than a single one (measured ~1 vs ~12 GFLOP/s on [224 x 224] · [224 x 672]), so for
 *   large images this wins despite its per-sample op calls.
 * 'auto' takes per-sample when a sample's row pass is at least AUTO_PER_SAMPLE_MACS multiply-adds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@dino-ts/core';

/** One sample's matrices: rows [outH, H] and cols [outW, W], row-major. */
export interface SeparableMaps {
  rows: Float32Array;
  cols: Float32Array;
}

export type MapMode = 'auto' | 'batched' | 'per-sample';

/** Row-pass size (multiply-adds per sample) from which 'auto' runs per sample. */
export const AUTO_PER_SAMPLE_MACS = 1 << 18;

/** The mode 'auto' resolves to for a map [H, W, C] -> [outH, ...]. */
export function resolveMapMode(mode: MapMode, outH: number, h: number, w: number, c: number): 'batched' | 'per-sample' {
  if (mode !== 'auto') return mode;
  return outH * h * w * c >= AUTO_PER_SAMPLE_MACS ? 'per-sample' : 'batched';
}

function identity(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** One [B, H, W, C] batch through stacked matrices rows [B, outH, H], cols [B, outW, W]. */
function mapBatch(x: tf.Tensor4D, rows: tf.Tensor3D, cols: tf.Tensor3D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const outH = rows.shape[1];
  const outW = cols.shape[1];
  // Rows: [outH, H] · [H, W·C] per sample -> [B, outH, W·C].
  const a = tf.matMul(rows, tf.reshape(x, [b, h, w * c]));
  // Bring W forward so the column pass is again a left multiplication.
  const at = tf.reshape(tf.transpose(tf.reshape(a, [b, outH, w, c]), [0, 2, 1, 3]), [b, w, outH * c]);
  const z = tf.matMul(cols, at);
  return tf.transpose(tf.reshape(z, [b, outW, outH, c]), [0, 2, 1, 3]);
}

/**
 * Applies `maps[b]` to sample b of `images` [B, H, W, C], giving [B, outH, outW, C]. A null entry
 * leaves the sample as it is (only when outH = H and outW = W).
 */
export function separableMap(
  images: tf.Tensor4D,
  maps: ReadonlyArray<SeparableMaps | null>,
  outH: number,
  outW: number,
  mode: MapMode = 'auto',
): tf.Tensor4D {
  const [batch, h, w, c] = images.shape;
  if ((outH !== h || outW !== w) && maps.some((m) => m === null)) {
    throw new ShapeError(`a null map keeps a sample as it is, so the output size must equal the input's`);
  }
  const rows = (m: SeparableMaps | null) => (m ? m.rows : identity(h));
  const cols = (m: SeparableMaps | null) => (m ? m.cols : identity(w));
  return tf.tidy(() => {
    if (resolveMapMode(mode, outH, h, w, c) === 'batched') {
      const stack = (parts: Float32Array[], n: number, k: number) => {
        const all = new Float32Array(batch * n * k);
        parts.forEach((p, i) => all.set(p, i * n * k));
        return tf.tensor3d(all, [batch, n, k]);
      };
      return mapBatch(images, stack(maps.map(rows), outH, h), stack(maps.map(cols), outW, w));
    }
    const samples = batch === 1 ? [images] : splitSamples(images);
    const outs = samples.map((x, i) => {
      const m = maps[i];
      // A batch of one is the caller's own tensor: copy it rather than hand it back.
      if (m === null) return batch === 1 ? tf.clone(x) : x;
      return mapBatch(x, tf.tensor3d(m.rows, [1, outH, h]), tf.tensor3d(m.cols, [1, outW, w]));
    });
    return batch === 1 ? outs[0] : (tf.concat(outs) as tf.Tensor4D);
  });
}

/** The samples of a batch as [1, H, W, C] tensors. */
export function splitSamples(images: tf.Tensor4D): tf.Tensor4D[] {
  return tf.split(images, images.shape[0]) as tf.Tensor4D[];
}
