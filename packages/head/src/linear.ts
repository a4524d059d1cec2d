import * as tf from '@tensorflow/tfjs-core';

/**
 * y = x W^T + b with W in PyTorch's [out, in] layout. The weight is transposed explicitly rather
 * than through matMul's transposeB flag: a transposed matMul is about 10x slower on the wasm
 * backend (TFJS-NOTES), while a 2-D transpose is cheap.
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.matMul<tf.Tensor2D>(x, tf.transpose(weight));
    return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
  });
}
