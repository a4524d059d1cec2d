import * as tf from '@tensorflow/tfjs-core';
import { Module, Rng, checkInt, variable } from '@dino-ts/core';
import { linear } from './linear';

/**
 * Weight normalisation along dim 0 (PyTorch `nn.utils.weight_norm(linear)`): each output row
 * w_k = g_k v_k / ||v_k||, with g [K, 1] and v [K, in]. PyTorch adds no epsilon here.
 */
export function weightNorm(g: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  // sqrt(sum(v^2)) rather than tf.norm, which is sqrt(sum(pow(abs(v), 2))): the same values,
  // and a backward pass of one multiply instead of Pow, Abs and Sign over the [K, in] matrix.
  return tf.tidy(() => tf.mul(v, tf.div(g, tf.sqrt(tf.sum(tf.square(v), 1, true))))) as tf.Tensor2D;
}

// L2 normalisation (`F.normalize(x, dim=-1)`) is shared with the evaluations: one
// implementation, in @dino-ts/core; re-exported here under the name this package always had.
export { l2Normalize } from '@dino-ts/core';

export interface WeightNormLinearOptions {
  /** The gain g is trainable. False: fixed at 1 (the DINO head's `norm_last_layer`). Default true. */
  trainableGain?: boolean;
  /** Randomness of v's initialisation. Default: a generator seeded 0. */
  rng?: Rng;
}

/**
 * `nn.utils.weight_norm(nn.Linear(in, out, bias=False))`: parameters `weight_g` [out, 1] (ones)
 * and `weight_v` [out, in], in that order. v keeps nn.Linear's default init,
 * kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)). A frozen gain stays a parameter
 * (it is in the state dict) with `trainable` false, as PyTorch's `requires_grad = False`.
 */
export class WeightNormLinear extends Module {
  readonly weightG: tf.Variable<tf.Rank.R2>;
  readonly weightV: tf.Variable<tf.Rank.R2>;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: WeightNormLinearOptions = {},
  ) {
    super();
    checkInt('inFeatures', inFeatures, 1);
    checkInt('outFeatures', outFeatures, 1);
    const { trainableGain = true, rng = new Rng(0) } = opts;
    const bound = 1 / Math.sqrt(inFeatures);
    const v = new Float32Array(outFeatures * inFeatures);
    for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-bound, bound);
    this.weightG = this.registerParameter(
      'weight_g',
      tf.tidy(() => variable('weight_norm.weight_g', tf.ones([outFeatures, 1]), trainableGain)) as tf.Variable<tf.Rank.R2>,
    );
    this.weightV = this.registerParameter(
      'weight_v',
      tf.tidy(() => variable('weight_norm.weight_v', tf.tensor2d(v, [outFeatures, inFeatures]))) as tf.Variable<tf.Rank.R2>,
    );
  }

  /** [B, in] -> [B, out]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => linear(x, weightNorm(this.weightG, this.weightV)));
  }
}
