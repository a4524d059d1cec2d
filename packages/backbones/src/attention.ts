/**
 * Multi-head self-attention of the DINO ViT (reference `Attention` in vision_transformer.py):
 * one `qkv` projection, softmax(q k^T * head_dim^-0.5) v per head, an output projection `proj`.
 * Replaceable through `VitConfig.attnLayer` (timm's `attn_layer`).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError, FUSED_KERNELS, Linear, Module, checkInt, hasFusedKernel, isRecordingGradients, linear, runFused, type Rng,
} from '@dino-ts/core';

/** What the ViT passes an attention factory. */
export interface AttentionOptions {
  /** Token dimension D (input and output). */
  dim: number;
  /** Number of heads (divides dim). */
  numHeads: number;
  /** Bias in the qkv projection. */
  qkvBias: boolean;
  /** The model's initialisation generator; draw from it in parameter order. */
  rng: Rng;
}

/**
 * The contract of an attention layer in a ViT block: a Module (its parameters are named under
 * the block's `attn.`) mapping tokens [B, N, D] to [B, N, D].
 */
export interface AttentionLayer extends Module {
  forward(x: tf.Tensor3D): tf.Tensor3D;
  /**
   * The softmax attention [B, heads, N, N] that `forward(x)` applies. Optional: without it the
   * ViT reports `hasSelfAttention` false and attention-map evaluations skip it.
   */
  getAttention?(x: tf.Tensor3D): tf.Tensor4D;
  /**
   * `forward(x)` for the first `queries` tokens only, [B, queries, D], attending over all N
   * tokens. Optional: a ViT whose output is the CLS token alone runs its last block through it
   * (and through `forward` plus a slice when it is absent).
   */
  forwardQueries?(x: tf.Tensor3D, queries: number): tf.Tensor3D;
}

/** Builds the attention layer of one block (timm's `attn_layer`). */
export type AttentionFactory = (opts: AttentionOptions) => AttentionLayer;

/**
 * The standard attention: parameters `qkv.weight` [3D, D], `qkv.bias` [3D] (with qkvBias),
 * `proj.weight` [D, D], `proj.bias` [D].
 */
export class Attention extends Module implements AttentionLayer {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly numHeads: number;
  readonly headDim: number;

  constructor(opts: AttentionOptions) {
    super();
    const { dim, numHeads, qkvBias, rng } = opts;
    checkInt('numHeads', numHeads, 1);
    if (dim % numHeads !== 0) throw new ConfigError('numHeads', numHeads, `must divide dim (${dim})`);
    this.numHeads = numHeads;
    this.headDim = dim / numHeads;
    // Creation order = the reference's parameter order (and its draws from the generator).
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { bias: qkvBias, rng }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { rng }));
  }

  /** Attended tokens [B, N, D]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.attended(x, x.shape[1]));
  }

  /** Softmax attention [B, heads, N, N]; row i holds query token i's weights. */
  getAttention(x: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => this.run(x).attn);
  }

  /** Both at once: what the reference's `Attention.forward` returns. */
  forwardWithAttention(x: tf.Tensor3D): { out: tf.Tensor3D; attn: tf.Tensor4D } {
    return tf.tidy(() => this.run(x));
  }

  /**
   * Attended tokens of the first `queries` queries [B, queries, D]. Each row is computed by the
   * same row-wise products as in `forward`, so it holds the same values; the work left out is
   * the other queries' q projection, attention rows and output projection, and whatever follows
   * them.
   */
  forwardQueries(x: tf.Tensor3D, queries: number): tf.Tensor3D {
    checkInt('queries', queries, 1, x.shape[1]);
    return tf.tidy(() => this.attended(x, queries));
  }

  /**
   * The q, k and v projections: one qkv tensor [B, N, 3D] (columns q | k | v) for every query,
   * or, for the first `queries` tokens only, q [B, queries, D] and kv [B, N, 2D] (columns k | v).
   * The rows of the qkv weight are the outputs, so each value is the product the full projection
   * computes.
   */
  private projections(x: tf.Tensor3D, queries: number): { q: tf.Tensor3D; kv: tf.Tensor3D; kColumn: number } {
    const [, n, d] = x.shape;
    if (queries === n) {
      const qkv = this.qkv.forward(x);
      return { q: qkv, kv: qkv, kColumn: d };
    }
    const { weight, bias } = this.qkv;
    const [wq, wkv] = tf.split(weight, [d, 2 * d], 0) as tf.Tensor2D[];
    const [bq, bkv] = bias == null ? [undefined, undefined] : (tf.split(bias, [d, 2 * d]) as tf.Tensor1D[]);
    return { q: linear(tf.slice(x, [0, 0, 0], [-1, queries, -1]), wq, bq), kv: linear(x, wkv, bkv), kColumn: 0 };
  }

  /**
   * proj(attention) of the first `queries` tokens without the attention matrix: outside gradient
   * recording, one fused kernel where the backend has it (DinoAttention: the composed ops' bits
   * without their copies, transposes and passes over the scores), the composed ops otherwise.
   */
  private attended(x: tf.Tensor3D, queries: number): tf.Tensor3D {
    if (!hasFusedKernel(FUSED_KERNELS.attention) || isRecordingGradients()) return this.run(x, queries).out;
    const d = x.shape[2];
    const { q, kv, kColumn } = this.projections(x, queries);
    const attrs = { numHeads: this.numHeads, dim: d, scale: this.headDim ** -0.5, qColumn: 0, kColumn, vColumn: kColumn + d };
    return this.proj.forward(runFused(FUSED_KERNELS.attention, { q, kv }, attrs)[0] as tf.Tensor3D);
  }

  private run(x: tf.Tensor3D, queries = x.shape[1]): { out: tf.Tensor3D; attn: tf.Tensor4D } {
    const [b, , d] = x.shape;
    const heads = this.numHeads;
    const hd = this.headDim;
    // The 3D outputs of qkv are ordered (q|k|v, head, head_dim), as the reference's
    // reshape(B, N, 3, H, hd).
    const { q: qSrc, kv, kColumn } = this.projections(x, queries);
    let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
    if (kColumn === d) [q, k, v] = tf.split(qSrc, 3, 2);
    else [q, [k, v]] = [qSrc, tf.split(kv, 2, 2)];
    [q, k, v] = [q, k, v].map((t) => tf.reshape(t, [b, t.shape[1] as number, heads, hd]));
    const qh = tf.transpose(q, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, Q, hd]
    const kt = tf.transpose(k, [0, 2, 3, 1]) as tf.Tensor4D; // [B, H, hd, N]
    const vh = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, N, hd]
    // The reference scales the scores, (q k^T) * hd^-0.5. A power-of-two scale (hd = 4, 16, 64,
    // 256: ViT-S and ViT-B) commutes exactly with the products, so it is applied to q instead:
    // hd values a query rather than N, the same bits forward and backward.
    const scale = hd ** -0.5;
    const attn = (Number.isInteger(Math.log2(scale))
      ? tf.softmax(tf.matMul(tf.mul(qh, scale), kt))
      : tf.softmax(tf.mul(tf.matMul(qh, kt), scale))) as tf.Tensor4D;
    const ctx = tf.reshape(tf.transpose(tf.matMul(attn, vh), [0, 2, 1, 3]), [b, queries, d]) as tf.Tensor3D;
    return { out: this.proj.forward(ctx), attn };
  }
}
