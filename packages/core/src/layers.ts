/**
 * The parameterised layers every network in dino-ts shares, as Modules around the functions of
 * nn.ts (same numerics): `Linear` and `LayerNorm`. Weights use PyTorch's names and layouts
 * (`weight` [out, in], `bias`), so a layer registered as `qkv` contributes `qkv.weight`,
 * `qkv.bias` to the state dict.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber } from './errors';
import { Module } from './module';
import { layerNorm, linear } from './nn';
import { onesVariable, truncNormalVariable, zerosVariable } from './params';
import { Rng } from './rng';

export interface LinearOptions {
  /** With a bias (PyTorch's default). Default true. */
  bias?: boolean;
  /**
   * Randomness of the weight initialisation. Pass the model's generator so layers draw in
   * construction order (what makes a seeded model reproducible). Default: a generator seeded 0.
   */
  rng?: Rng;
  /** Standard deviation of the truncated-normal weight init. Default 0.02. */
  std?: number;
}

/**
 * `nn.Linear` over the last axis, initialised as the DINO / timm models' `_init_weights`:
 * weight ~ trunc_normal(std 0.02) [out, in], bias zeros.
 */
export class Linear extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias?: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    checkInt('inFeatures', inFeatures, 1);
    checkInt('outFeatures', outFeatures, 1);
    const { bias = true, rng = new Rng(0), std = 0.02 } = opts;
    checkNumber('std', std, { min: 0 });
    this.weight = this.registerParameter(
      'weight',
      truncNormalVariable('linear.weight', [outFeatures, inFeatures], rng, std) as tf.Variable<tf.Rank.R2>,
    );
    if (bias) this.bias = this.registerParameter('bias', zerosVariable('linear.bias', [outFeatures]) as tf.Variable<tf.Rank.R1>);
  }

  /** [..., inFeatures] -> [..., outFeatures]. */
  forward<T extends tf.Tensor>(x: T): T {
    return linear(x, this.weight, this.bias);
  }
}

export interface LayerNormOptions {
  /** Added to the variance inside the square root. Default 1e-5 (PyTorch's; the DINO ViTs use 1e-6). */
  eps?: number;
}

/** `nn.LayerNorm(dim)` over the last axis: weight ones, bias zeros. */
export class LayerNorm extends Module {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: LayerNormOptions = {},
  ) {
    super();
    checkInt('dim', dim, 1);
    this.eps = opts.eps ?? 1e-5;
    checkNumber('eps', this.eps, { min: 0 });
    this.weight = this.registerParameter('weight', onesVariable('layernorm.weight', [dim]) as tf.Variable<tf.Rank.R1>);
    this.bias = this.registerParameter('bias', zerosVariable('layernorm.bias', [dim]) as tf.Variable<tf.Rank.R1>);
  }

  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
