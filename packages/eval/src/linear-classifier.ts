/**
 * The linear layer trained on frozen features (eval_linear.py LinearClassifier): weight
 * ~ N(0, 0.01), bias 0, parameters named as the reference's state dict (`linear.weight` [labels,
 * dim], `linear.bias`), so trained weights move to and from PyTorch unchanged. The reference has no
 * BatchNorm and no feature normalisation in front of it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, ShapeError, checkInt, checkNumber, variable, type HasParams, type Params } from '@dino-ts/core';
import { DEFAULTS } from './defaults';

export interface LinearClassifierOptions {
  /** Seed of the weight initialisation (ignored when `rng` is given). */
  seed?: number;
  rng?: Rng;
  /** Std of the normal weight initialisation. Default 0.01. */
  initStd?: number;
}

/**
 * @example
 * const clf = new LinearClassifier(4 * 384, 1000);
 * const logits = clf.forward(features); // [B, 1000]
 */
export class LinearClassifier implements HasParams {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly dim: number,
    readonly numLabels: number,
    opts: LinearClassifierOptions = {},
  ) {
    checkInt('dim', dim, 1);
    checkInt('numLabels', numLabels, 1);
    const std = opts.initStd ?? DEFAULTS.linear.initStd;
    checkNumber('initStd', std, { min: 0 });
    const rng = opts.rng ?? new Rng(opts.seed ?? DEFAULTS.linear.seed);
    const w = Float32Array.from({ length: numLabels * dim }, () => rng.normal(0, std));
    this.weight = tf.tidy(() => variable('linear.weight', tf.tensor2d(w, [numLabels, dim])));
    this.bias = tf.tidy(() => variable('linear.bias', tf.zeros([numLabels])));
  }

  /** Logits x W^T + b: [B, numLabels]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new ShapeError(`LinearClassifier.forward: expected [B, ${this.dim}], got [${x.shape}]`);
    }
    return tf.tidy(() => tf.add(tf.matMul(x, this.weight, false, true), this.bias) as tf.Tensor2D);
  }

  params(): Params {
    return new Map([
      ['linear.weight', this.weight],
      ['linear.bias', this.bias],
    ]);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
