/**
 * The contract every backbone satisfies, so the DINO head, the training step and the evaluation
 * protocols work with any of them (ViT, convnet, or a user's own) without knowing which.
 *
 * Images are NHWC float32 tensors [B, H, W, C] (tfjs's layout), already normalised.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { HasParams, Params, Rng } from '@dino-ts/core';

export interface ForwardOptions {
  /**
   * Training mode: stochastic depth (drop path) in a ViT, batch statistics (and their running
   * update) in a convnet's BatchNorm. Default: the backbone's mode, which is eval (false) unless
   * `train()` was called on it.
   */
  training?: boolean;
  /** Source of randomness for drop path when training (reproducible runs). */
  rng?: Rng;
}

export interface BackboneFeatures {
  /** The final-normalised CLS token (ViT) or pooled feature (convnet): [B, embedDim]. */
  cls: tf.Tensor2D;
  /** The final-normalised patch tokens [B, N, embedDim] (ViT) or flattened feature map (convnet). */
  patchTokens: tf.Tensor3D;
}

export interface Backbone extends HasParams {
  /** Registry name, e.g. 'vit_small'. */
  readonly name: string;
  /** Size of the feature vector `forward` returns. */
  readonly embedDim: number;
  /**
   * Pixels per feature-map cell: the patch size of a ViT; for a convnet its total output
   * stride (a ResNet: 32 with the ImageNet stem, 8 with the small-input stem). The feature grid
   * of an H x W input is H / patchSize by W / patchSize.
   */
  readonly patchSize: number;
  /** Number of input channels (the C of NHWC inputs). */
  readonly inChans: number;
  /**
   * [height, width] the backbone is built for: a ViT's position-embedding size (other multiples
   * of the patch are interpolated); a convnet's nominal input size (any size works).
   */
  readonly imgSize: readonly [number, number];
  /**
   * How many layers `getIntermediateLayers` can return (its largest `n`): a ViT's blocks, a
   * ResNet's 4 stages.
   */
  readonly depth: number;
  /**
   * Whether `getLastSelfAttention` works (ViTs). False for convnets; absent (older or third-party
   * backbones) is read as true. Evaluations built on attention maps skip backbones without it.
   */
  readonly hasSelfAttention?: boolean;
  /** The feature DINO trains on (CLS token): [B, embedDim]. */
  forward(x: tf.Tensor4D, opts?: ForwardOptions): tf.Tensor2D;
  /** CLS and patch tokens after the final norm. */
  forwardFeatures(x: tf.Tensor4D, opts?: ForwardOptions): BackboneFeatures;
  /**
   * Outputs of the last `n` blocks, each passed through the final norm (the reference's
   * get_intermediate_layers): n tensors [B, N+1, embedDim], oldest first.
   */
  getIntermediateLayers(x: tf.Tensor4D, n?: number): tf.Tensor3D[];
  /**
   * Self-attention of the last block, softmax-normalised: [B, heads, N+1, N+1]. Row 0 is the
   * CLS query. Backbones without attention throw.
   */
  getLastSelfAttention(x: tf.Tensor4D): tf.Tensor4D;
  /**
   * Non-trainable state under reference names (a convnet's BatchNorm running statistics), to be
   * saved with the parameters and copied to an EMA teacher; absent when the backbone has none.
   */
  buffers?(): Params;
  /**
   * Sets the mode used by calls without `training` (every dino-ts backbone is a `Module` and has
   * it; a third-party backbone may not).
   */
  train?(mode?: boolean): unknown;
  /** Frees the parameters (and buffers). */
  dispose(): void;
}
