/**
 * The pre-norm transformer block of the DINO ViT (reference `Block`):
 *   x = x + dropPath(attn(norm1(x)));  x = x + dropPath(mlp(norm2(x)))
 * built from replaceable parts (timm's `norm_layer`, `attn_layer`, `mlp_layer`), and itself
 * replaceable through `VitConfig.blockFn` (timm's `block_fn`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Module, checkNumber, type Rng } from '@dino-ts/core';
import type { AttentionFactory, AttentionLayer } from './attention';
import type { MlpFactory, MlpLayer } from './mlp';
import { residualDropPath } from './nn';

/** A normalisation layer over the last axis: a Module (parameters under its name), shape-preserving. */
export interface NormLayer extends Module {
  forward(x: tf.Tensor3D): tf.Tensor3D;
}

/** Builds a normalisation layer for `dim` features (timm's `norm_layer`). */
export type NormLayerFactory = (dim: number) => NormLayer;

/** What the ViT passes a block factory: the block's sizes, its drop-path rate and the part factories. */
export interface BlockOptions {
  /** Token dimension D. */
  dim: number;
  numHeads: number;
  /** Hidden size of the MLP: floor(D * mlpRatio). */
  mlpHiddenDim: number;
  qkvBias: boolean;
  /** This block's stochastic-depth probability (rising linearly over the depth). */
  dropPath: number;
  /** The model's initialisation generator; draw from it in parameter order. */
  rng: Rng;
  normLayer: NormLayerFactory;
  attnLayer: AttentionFactory;
  mlpLayer: MlpFactory;
}

/** Per-call options of a block. */
export interface BlockForwardOptions {
  /** Training mode: stochastic depth on. Default: the block's mode (`train()`), false until set. */
  training?: boolean;
  /** Source of the drop-path masks; required when training with a non-zero drop-path rate. */
  rng?: Rng;
}

/** The contract of a ViT block: a Module mapping tokens [B, N, D] to [B, N, D]. */
export interface BlockLayer extends Module {
  forward(x: tf.Tensor3D, opts?: BlockForwardOptions): tf.Tensor3D;
  /**
   * The block's softmax self-attention [B, heads, N, N] on input x (what getLastSelfAttention
   * returns for the last block). Absent when the block has no attention map.
   */
  getAttention?(x: tf.Tensor3D): tf.Tensor4D;
  /**
   * The block's output for the CLS token alone, [B, 1, D]: `forward(x)[:, :1]`. Optional; the
   * ViT's CLS-token forward runs its last block through it when present.
   */
  forwardCls?(x: tf.Tensor3D, opts?: BlockForwardOptions): tf.Tensor3D;
}

/** Builds one block (timm's `block_fn`). */
export type BlockFactory = (opts: BlockOptions) => BlockLayer;

/**
 * The standard block: children `norm1`, `attn`, `norm2`, `mlp`, in the reference's order (so
 * its parameters are `norm1.weight`, ..., `attn.qkv.weight`, ..., `mlp.fc2.bias`).
 */
export class Block extends Module implements BlockLayer {
  readonly norm1: NormLayer;
  readonly attn: AttentionLayer;
  readonly norm2: NormLayer;
  readonly mlp: MlpLayer;
  readonly dropPath: number;
  /** Present when the attention layer exposes its attention map. */
  readonly getAttention?: (x: tf.Tensor3D) => tf.Tensor4D;

  constructor(opts: BlockOptions) {
    super();
    const { dim, numHeads, mlpHiddenDim, qkvBias, rng } = opts;
    checkNumber('dropPath', opts.dropPath, { min: 0, max: 1, maxExclusive: true });
    this.dropPath = opts.dropPath;
    // Creation order = the reference's parameter order (and its draws from the generator).
    this.norm1 = this.registerModule('norm1', opts.normLayer(dim));
    this.attn = this.registerModule('attn', opts.attnLayer({ dim, numHeads, qkvBias, rng }));
    this.norm2 = this.registerModule('norm2', opts.normLayer(dim));
    this.mlp = this.registerModule('mlp', opts.mlpLayer({ inFeatures: dim, hiddenFeatures: mlpHiddenDim, rng }));
    const attn = this.attn;
    if (typeof attn.getAttention === 'function') {
      this.getAttention = (x) => tf.tidy(() => attn.getAttention!(this.norm1.forward(x)));
    }
  }

  forward(x: tf.Tensor3D, opts: BlockForwardOptions = {}): tf.Tensor3D {
    return this.run(x, opts, false);
  }

  /**
   * forward(x)[:, :1] computed for the CLS token alone when the attention layer has
   * `forwardQueries`: its query row attends over all tokens, then its output projection and the
   * MLP run on that one row. The values are the full forward's (every product is row-wise),
   * for ~1/4 of the block's work; the drop-path masks are the same draws.
   */
  forwardCls(x: tf.Tensor3D, opts: BlockForwardOptions = {}): tf.Tensor3D {
    if (typeof this.attn.forwardQueries !== 'function') {
      return tf.tidy(() => tf.slice(this.forward(x, opts), [0, 0, 0], [-1, 1, -1]));
    }
    return this.run(x, opts, true);
  }

  private run(x: tf.Tensor3D, opts: BlockForwardOptions, clsOnly: boolean): tf.Tensor3D {
    const training = opts.training ?? this.training;
    const rate = training ? this.dropPath : 0;
    if (rate > 0 && !opts.rng) throw new ConfigError('rng', opts.rng, 'must be given to train a block with drop path');
    // base + branch(t) with the branch dropped per sample; the base is t unless given.
    const residual = (t: tf.Tensor, f: (y: tf.Tensor3D) => tf.Tensor, base = t) =>
      (rate > 0 ? residualDropPath(t, (y) => f(y as tf.Tensor3D), rate, opts.rng!, base) : tf.add(base, f(t as tf.Tensor3D)));
    // Attention branch first, then the MLP's: the order the masks are drawn in (reproducibility).
    return tf.tidy(() => {
      const x1 = clsOnly
        ? residual(x, (y) => this.attn.forwardQueries!(this.norm1.forward(y), 1), tf.slice(x, [0, 0, 0], [-1, 1, -1]))
        : residual(x, (y) => this.attn.forward(this.norm1.forward(y)));
      return residual(x1, (y) => this.mlp.forward(this.norm2.forward(y))) as tf.Tensor3D;
    });
  }
}
