/**
 * Patch embedding: the reference's `nn.Conv2d(C, D, kernel_size=p, stride=p)` written as
 * patchify + one matMul, because the wasm backend has no Conv2DBackpropFilter (a conv patch
 * embedding could not train there) and reshape/transpose/matMul all have gradients everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Embeds non-overlapping p x p patches of an NHWC image.
 *
 * The weight keeps the conv layout [D, C, p, p]. Rather than reorder every patch of the input to
 * (C, p, p), the (small) weight is reordered to (p, p, C, D), which leaves the input needing only
 * a 4-D transpose: [B*h, p, w, p*C] -> [B*h, w, p, p*C]. Same products, same sums.
 *
 * @param x [B, H, W, C] with H and W multiples of p (checked by the caller)
 * @param weight [D, C, p, p]
 * @param bias [D]
 * @returns [B, h*w, D], tokens in row-major grid order (the conv output's `flatten(2)` order)
 */
export function patchEmbed(x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor3D {
  const [b, height, width, c] = x.shape;
  const [d, , p] = weight.shape;
  const h = height / p;
  const w = width / p;
  const patches = tf.reshape(
    tf.transpose(tf.reshape(x, [b * h, p, w, p * c]), [0, 2, 1, 3]),
    [b * h * w, p * p * c],
  ) as tf.Tensor2D;
  const kernel = tf.reshape(tf.transpose(weight, [2, 3, 1, 0]), [p * p * c, d]) as tf.Tensor2D;
  const tokens = tf.fused.matMul({ a: patches, b: kernel, bias });
  return tf.reshape(tokens, [b, h * w, d]);
}
