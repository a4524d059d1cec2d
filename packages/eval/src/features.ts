/**
 * Features held in host memory (a whole data set's features do not need to live on the backend),
 * and the feature vectors the protocols read from a backbone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, checkInt } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';

/** Row-major [rows, dim] float32 matrix in host memory. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Checks a FeatureMatrix (or reads a rank-2 tensor into one). */
export async function toFeatureMatrix(x: FeatureMatrix | tf.Tensor2D, name = 'features'): Promise<FeatureMatrix> {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw new ShapeError(`${name} must be rank 2 [rows, dim], got shape [${x.shape}]`);
    return { data: (await x.data()) as Float32Array, rows: x.shape[0], dim: x.shape[1] };
  }
  if (x.data.length !== x.rows * x.dim) {
    throw new ShapeError(`${name}: data has ${x.data.length} values, rows ${x.rows} x dim ${x.dim} needs ${x.rows * x.dim}`);
  }
  return x;
}


export interface FeatureOptions {
  /**
   * Concatenate the CLS token of the last n blocks (eval_linear `n_last_blocks`). With 1 and no
   * avgpool the feature is `backbone.forward(x)`, the final-normalised CLS (eval_knn).
   */
  nLastBlocks?: number;
  /**
   * Also append the mean of the last block's patch tokens (eval_linear `avgpool_patchtokens`).
   * With nLastBlocks 1 the two vectors are interleaved exactly as eval_linear does
   * (cat(cls.unsqueeze(-1), avg.unsqueeze(-1), -1).reshape(B, -1)), so linear weights trained by
   * the reference load unchanged; the reference supports avgpool only with n = 1, for n > 1 the
   * average is appended after the CLS tokens.
   */
  avgpoolPatchTokens?: boolean;
}

/**
 * Length of the feature vector `backboneFeatures` returns for a ViT-like backbone (for a convnet
 * it is `embedDim` whatever the options).
 */
export function featureDim(backbone: Backbone, opts: FeatureOptions = {}): number {
  const n = opts.nLastBlocks ?? DEFAULTS.extract.nLastBlocks;
  return backbone.embedDim * (n + (opts.avgpoolPatchTokens ? 1 : 0));
}

// Whether a backbone's intermediate layers start with a CLS token, decided once per backbone.
const hasCls = new WeakMap<Backbone, boolean>();

/**
 * The frozen feature of a batch as eval_knn / eval_linear build it: [B, featureDim]. A backbone
 * whose intermediate layers carry no CLS token (a convnet: tokens = feature-map positions) gives
 * `forward(x)`, as eval_linear does for non-ViT architectures.
 *
 * @example
 * const f = backboneFeatures(vit, images, { nLastBlocks: 4 }); // [B, 4 * embedDim]
 */
export function backboneFeatures(backbone: Backbone, x: tf.Tensor4D, opts: FeatureOptions = {}): tf.Tensor2D {
  const n = opts.nLastBlocks ?? DEFAULTS.extract.nLastBlocks;
  const avgpool = opts.avgpoolPatchTokens ?? DEFAULTS.extract.avgpoolPatchTokens;
  checkInt('nLastBlocks', n, 1);
  return tf.tidy(() => {
    if ((n === 1 && !avgpool) || hasCls.get(backbone) === false) return backbone.forward(x);
    const layers = backbone.getIntermediateLayers(x, n);
    if (layers.length !== n) {
      throw new ConfigError('nLastBlocks', n, `must be at most the backbone's depth (it returned ${layers.length} layers)`);
    }
    const [b, , d] = layers[0].shape;
    if (!hasCls.has(backbone)) {
      const [, H, W] = x.shape;
      const p = backbone.patchSize;
      hasCls.set(backbone, layers[n - 1].shape[1] === 1 + Math.floor(H / p) * Math.floor(W / p));
      if (!hasCls.get(backbone)) return backbone.forward(x);
    }
    const cls = tf.concat(layers.map((l) => tf.reshape(tf.slice(l, [0, 0, 0], [b, 1, d]), [b, d])), 1);
    if (!avgpool) return cls as tf.Tensor2D;
    const last = layers[n - 1];
    const lastTokens = last.shape[1];
    if (lastTokens < 2) throw new ShapeError(`avgpoolPatchTokens needs patch tokens, the backbone returned ${lastTokens} token(s)`);
    const avg = tf.mean(tf.slice(last, [0, 1, 0], [b, lastTokens - 1, d]), 1);
    if (n === 1) return tf.reshape(tf.stack([cls, avg], 2), [b, 2 * d]) as tf.Tensor2D;
    return tf.concat([cls, avg], 1) as tf.Tensor2D;
  });
}
