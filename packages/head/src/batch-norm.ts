import * as tf from '@tensorflow/tfjs-core';

/** PyTorch BatchNorm1d defaults. */
export const BATCH_NORM_EPS = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;

export interface BatchNormStats {
  /** Batch mean [C]. */
  mean: tf.Tensor1D;
  /** Unbiased batch variance [C] (what PyTorch folds into running_var). */
  varUnbiased: tf.Tensor1D;
}

/**
 * BatchNorm1d on [N, C] with batch statistics (training mode): normalises with the biased batch
 * variance and returns the statistics the running averages are updated with.
 */
export function batchNormTrain(
  x: tf.Tensor2D,
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  eps = BATCH_NORM_EPS,
): { y: tf.Tensor2D; stats: BatchNormStats } {
  const n = x.shape[0];
  return tf.tidy(() => {
    const mean = tf.mean(x, 0);
    const centered = tf.sub(x, mean);
    const varBiased = tf.mean(tf.square(centered), 0);
    const y = tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(varBiased, eps))), weight), bias) as tf.Tensor2D;
    // PyTorch needs more than one value per channel to train; n = 1 gives an infinite factor.
    const varUnbiased = tf.mul(varBiased, n / Math.max(n - 1, 1)) as tf.Tensor1D;
    // The statistics only feed the running averages (assigned outside any loss), so no gradient
    // flows through them.
    return { y, stats: { mean: mean as tf.Tensor1D, varUnbiased } };
  });
}

/** BatchNorm1d with running statistics (evaluation mode). */
export function batchNormEval(
  x: tf.Tensor2D,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  eps = BATCH_NORM_EPS,
): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.mul(tf.div(tf.sub(x, runningMean), tf.sqrt(tf.add(runningVar, eps))), weight), bias) as tf.Tensor2D);
}
