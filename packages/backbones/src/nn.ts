/**
 * The functional building blocks of the transformer, on tfjs ops that have gradients on every
 * backend (wasm included). Each works on the last axis and leaves leading axes alone. They are
 * called inside the model's `tidy`, so they allocate freely.
 */
import * as tf from '@tensorflow/tfjs-core';
// Linear, LayerNorm and GELU are shared by every network: they live in @dino-ts/core.
export { linear, layerNorm, gelu } from '@dino-ts/core';
import type { Rng } from '@dino-ts/core';

/**
 * Stochastic depth (reference `drop_path`): each sample's residual branch is kept with
 * probability 1 - dropProb and, when kept, scaled by 1 / (1 - dropProb) so its expectation is
 * unchanged. The per-sample mask is floor(keepProb + u), u ~ U[0, 1), drawn from `rng`.
 */
export function dropPath(x: tf.Tensor, dropProb: number, rng: Rng): tf.Tensor {
  if (dropProb === 0) return x;
  const keepProb = 1 - dropProb;
  const batch = x.shape[0];
  const mask = new Float32Array(batch);
  for (let i = 0; i < batch; i++) mask[i] = Math.floor(keepProb + rng.next()) / keepProb;
  const maskShape = [batch, ...x.shape.slice(1).map(() => 1)];
  return tf.mul(x, tf.tensor(mask, maskShape));
}
