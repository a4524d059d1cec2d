/**
 * The one BatchNorm of dino-ts, shared by the convnet backbone (PyTorch `BatchNorm2d` on NHWC)
 * and the DINO head (`BatchNorm1d` on [N, C]): with channels last, both normalise each channel
 * over every other axis, so one class serves both.
 *
 * Update rule (PyTorch's, momentum 0.1): in training mode the output uses the batch mean and the
 * biased batch variance, and the running statistics move toward the batch's:
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)   (unbiased)
 *   num_batches_tracked += 1
 * with n the number of values per channel. Eval mode normalises with the running statistics.
 *
 * The running statistics are updated inside the training forward, as PyTorch does. tfjs never
 * re-runs a forward to compute gradients and `Variable.assign` is not differentiated, so the
 * update happens exactly once per training forward, also inside `tf.variableGrads`; a caller that
 * must undo a step (a non-finite loss) snapshots `buffers()` first, as the DINO trainer does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkInt, checkNumber } from './errors';
import { Module } from './module';
import { onesVariable, variable, zerosVariable } from './params';

/** PyTorch's BatchNorm defaults. */
export const BATCH_NORM_DEFAULTS = { eps: 1e-5, momentum: 0.1 } as const;

export interface BatchNormOptions {
  /** Added to the variance inside the square root. Default 1e-5. */
  eps?: number;
  /** Weight of the batch statistics in the running averages. Default 0.1. */
  momentum?: number;
}

/**
 * BatchNorm over the last (channel) axis: `weight`, `bias` (parameters), `running_mean`,
 * `running_var`, `num_batches_tracked` (buffers), PyTorch's state-dict names and order.
 * `num_batches_tracked` is a float32 scalar (PyTorch: int64), exact up to 2^24 steps, so buffers
 * load through the same float path as parameters.
 *
 * @example
 * const bn = new BatchNorm(64);
 * const y = bn.forward(x, true);   // x [N, 64] or [B, H, W, 64]: batch statistics, stats updated
 * const z = bn.forward(x);         // eval mode (the module's default): running statistics
 */
export class BatchNorm extends Module {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;
  readonly numBatchesTracked: tf.Variable<tf.Rank.R0>;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    checkInt('numFeatures', numFeatures, 1);
    this.eps = opts.eps ?? BATCH_NORM_DEFAULTS.eps;
    this.momentum = opts.momentum ?? BATCH_NORM_DEFAULTS.momentum;
    checkNumber('eps', this.eps, { min: 0 });
    checkNumber('momentum', this.momentum, { min: 0, max: 1 });
    const c = numFeatures;
    this.weight = this.registerParameter('weight', onesVariable('bn.weight', [c]) as tf.Variable<tf.Rank.R1>);
    this.bias = this.registerParameter('bias', zerosVariable('bn.bias', [c]) as tf.Variable<tf.Rank.R1>);
    this.runningMean = this.registerBuffer('running_mean', buffer('bn.running_mean', () => tf.zeros([c])) as tf.Variable<tf.Rank.R1>);
    this.runningVar = this.registerBuffer('running_var', buffer('bn.running_var', () => tf.ones([c])) as tf.Variable<tf.Rank.R1>);
    this.numBatchesTracked = this.registerBuffer(
      'num_batches_tracked',
      buffer('bn.num_batches_tracked', () => tf.scalar(0)) as tf.Variable<tf.Rank.R0>,
    );
  }

  /**
   * Normalises `x` [..., numFeatures] per channel. Training (default: the module's mode) uses the
   * batch statistics and advances the running ones; eval uses the running statistics and changes
   * nothing. The caller owns the result.
   */
  forward<T extends tf.Tensor>(x: T, training: boolean = this.training): T {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.numFeatures) {
      throw new ShapeError(`BatchNorm: input must be [..., ${this.numFeatures}] (channels last, rank >= 2), got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
        ({ mean, variance } = tf.moments(x, axes));
        this.updateRunningStats(mean, variance, x.size / this.numFeatures);
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      const scale = tf.mul(tf.rsqrt(tf.add(variance, this.eps)), this.weight);
      return tf.add(tf.mul(tf.sub(x, mean), scale), this.bias) as T;
    });
  }

  /** PyTorch's rule with the unbiased variance; n = 1 (PyTorch refuses to train) keeps the biased one. */
  private updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, n: number): void {
    const m = this.momentum;
    tf.tidy(() => {
      const unbiased = n > 1 ? tf.mul(biasedVar, n / (n - 1)) : biasedVar;
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, 1));
    });
  }
}

function buffer(name: string, make: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => variable(name, make(), false));
}
