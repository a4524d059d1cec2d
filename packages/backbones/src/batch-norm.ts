/**
 * PyTorch `nn.BatchNorm2d` on NHWC tensors: batch statistics and a running-statistics update in
 * training mode, running statistics in eval mode.
 */
import * as tf from '@tensorflow/tfjs-core';

/** PyTorch's BatchNorm defaults. */
export const BATCH_NORM_DEFAULTS = { eps: 1e-5, momentum: 0.1 } as const;

/** One BatchNorm layer's tensors: trainable affine parameters and non-trainable buffers. */
export interface BatchNormState {
  weight: tf.Variable;
  bias: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
  numBatchesTracked: tf.Variable;
}

/**
 * Normalises over (B, H, W) per channel.
 *
 * Training: uses the batch mean and biased variance, and (unless `updateStats` is false) moves the
 * running statistics by `momentum` toward the batch mean and the unbiased variance
 * (n / (n - 1) times the biased one), as PyTorch does.
 */
export function batchNorm(
  x: tf.Tensor4D,
  bn: BatchNormState,
  training: boolean,
  opts: { eps?: number; momentum?: number; updateStats?: boolean } = {},
): tf.Tensor4D {
  const { eps = BATCH_NORM_DEFAULTS.eps, momentum = BATCH_NORM_DEFAULTS.momentum, updateStats = true } = opts;
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (training) {
    ({ mean, variance } = tf.moments(x, [0, 1, 2]));
    if (updateStats) {
      const [b, h, w] = x.shape;
      const n = b * h * w;
      const [bm, bv] = [mean, variance];
      // Assignments are not differentiable ops: the update stays off the gradient path.
      tf.tidy(() => {
        bn.runningMean.assign(tf.add(tf.mul(bn.runningMean, 1 - momentum), tf.mul(bm, momentum)));
        const unbiased = n > 1 ? tf.mul(bv, n / (n - 1)) : bv;
        bn.runningVar.assign(tf.add(tf.mul(bn.runningVar, 1 - momentum), tf.mul(unbiased, momentum)));
        bn.numBatchesTracked.assign(tf.add(bn.numBatchesTracked, 1));
      });
    }
  } else {
    mean = bn.runningMean;
    variance = bn.runningVar;
  }
  const scale = tf.mul(tf.rsqrt(tf.add(variance, eps)), bn.weight);
  return tf.add(tf.mul(tf.sub(x, mean), scale), bn.bias);
}
