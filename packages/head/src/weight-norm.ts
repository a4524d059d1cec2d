import * as tf from '@tensorflow/tfjs-core';

/**
 * Weight normalisation along dim 0 (PyTorch `nn.utils.weight_norm(linear)`): each output row
 * w_k = g_k v_k / ||v_k||, with g [K, 1] and v [K, in]. PyTorch adds no epsilon here.
 */
export function weightNorm(g: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(v, tf.div(g, tf.norm(v, 'euclidean', 1, true))) as tf.Tensor2D);
}

/**
 * L2 normalisation of each row, x / max(||x||, eps), as `F.normalize(x, dim=-1, p=2)`.
 */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), eps)) as tf.Tensor2D);
}
