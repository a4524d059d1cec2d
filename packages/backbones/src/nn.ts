/**
 * The functional building blocks of the transformer, on tfjs ops that have gradients on every
 * backend (wasm included). Each works on the last axis and leaves leading axes alone. They are
 * called inside the model's `tidy`, so they allocate freely.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@dino-ts/core';

/**
 * PyTorch `nn.Linear`: x · Wᵀ + b with the weight kept in PyTorch's [out, in] layout.
 *
 * The weight (small) is transposed explicitly so the big product is a plain matMul: on the stock
 * wasm backend a matMul with transposeB runs about 10x slower than one without.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const inDim = weight.shape[1];
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = tf.fused.matMul({ a: x2, b: tf.transpose(weight), bias });
  return tf.reshape(y, [...lead, weight.shape[0]]);
}

/** `nn.LayerNorm` over the last axis: biased variance, eps inside the square root. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor {
  const axis = x.rank - 1;
  const { mean, variance } = tf.moments(x, axis, true);
  const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(xhat, weight), bias);
}

/** Exact GELU (`nn.GELU()` default): x · Φ(x) = 0.5 x (1 + erf(x / √2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

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
