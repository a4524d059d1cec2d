/**
 * Patch embedding: the reference's `nn.Conv2d(C, D, kernel_size=p, stride=p)` written as
 * patchify + one matMul, because the wasm backend has no Conv2DBackpropFilter (a conv patch
 * embedding could not train there) and reshape/transpose/matMul all have gradients everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Module, linear, type Rng } from '@dino-ts/core';
import { Conv2d } from './conv';

/**
 * Embeds non-overlapping p x p patches of an NHWC image.
 *
 * The weight keeps the conv layout [D, C, p, p]. Rather than reorder every patch of the input to
 * (C, p, p), the (small) weight is reordered to [D, (p, p, C)], a Linear weight [out, in] (each
 * output's block moved on its own, where a [(p, p, C), D] order strode across the whole weight
 * for every element), which leaves the input needing only a 4-D transpose:
 * [B*h, p, w, p*C] -> [B*h, w, p, p*C]. Same products, same sums.
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
  const kernel = tf.reshape(tf.transpose(weight, [0, 2, 3, 1]), [d, p * p * c]) as tf.Tensor2D;
  const tokens = linear(patches, kernel, bias);
  return tf.reshape(tokens, [b, h * w, d]);
}

export interface PatchEmbedOptions {
  inChans: number;
  embedDim: number;
  patchSize: number;
  /** The model's initialisation generator. */
  rng: Rng;
}

/**
 * The reference's `PatchEmbed`: a child `proj` (a p x p, stride-p Conv2d with bias, PyTorch's
 * default init), so its parameters are `proj.weight` [D, C, p, p] and `proj.bias` [D]. The
 * forward pass is `patchEmbed` (patchify + matMul) rather than the convolution: same values,
 * cheaper, and trainable on wasm.
 */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  readonly patchSize: number;

  constructor(opts: PatchEmbedOptions) {
    super();
    const { inChans, embedDim, patchSize, rng } = opts;
    this.patchSize = patchSize;
    this.proj = this.registerModule('proj', new Conv2d(inChans, embedDim, patchSize, { stride: patchSize, bias: true, rng }));
  }

  /** [B, H, W, C] (H, W multiples of the patch) -> tokens [B, (H/p)(W/p), D], row-major. */
  forward(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => patchEmbed(x, this.proj.weight, this.proj.bias!));
  }
}
