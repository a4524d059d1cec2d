/**
 * Principal components of a ViT's patch features, and the first three as an RGB map: the view
 * where, without labels, the object separates from the background and its parts from each other
 * (the DINO / DINOv2 papers' PCA figures).
 *
 * It depends only on tfjs-core and a backbone's `forwardFeatures`:
 * `principalComponents` is the linear algebra, `pcaRgb` the picture, `patchFeaturePca` the two on
 * one image of a backbone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, ShapeError } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import type { RgbaImage } from './render';

export interface PcaOptions {
  /** Number of components. Default 3 (one per colour channel). */
  components?: number;
  /** Most subspace iterations. Default 500. */
  maxIterations?: number;
  /** Stop when every direction moved by less than this (1 - |cos| between iterations). Default 1e-7. */
  tolerance?: number;
  /** Seed of the starting subspace (the result does not depend on it beyond rounding). Default 0. */
  seed?: number;
}

export interface PcaResult {
  rows: number;
  dim: number;
  /** Components found: min(components, rows, dim). */
  k: number;
  /** [rows, k], row-major: each centred row's coordinates on the components. */
  projections: Float32Array;
  /** [k, dim], row-major: the unit principal directions, largest variance first. */
  components: Float32Array;
  /** Variance along each component (covariance eigenvalues, divisor rows - 1). */
  variances: Float32Array;
  /** Each component's share of the total variance. */
  explained: Float32Array;
  /** Subspace iterations run. */
  iterations: number;
}

export const PCA_DEFAULTS = { components: 3, maxIterations: 500, tolerance: 1e-7, seed: 0 };

/**
 * Orthonormal columns spanning z's (modified Gram-Schmidt; a column that vanishes stays zero).
 * Returns a new tensor; z is left to the caller.
 */
function orthonormalize(z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const out: tf.Tensor1D[] = [];
    for (let v of tf.unstack(z, 1) as tf.Tensor1D[]) {
      for (const u of out) v = tf.sub(v, tf.mul(u, tf.sum(tf.mul(u, v))));
      out.push(tf.div(v, tf.maximum(tf.norm(v), 1e-30)));
    }
    return tf.stack(out, 1) as tf.Tensor2D;
  });
}

/**
 * The top principal components of the rows of `x` [rows, dim], by subspace (orthogonal)
 * iteration on the smaller of the two Gram matrices: XᵀX [dim, dim] when there are more rows
 * than dimensions, XXᵀ [rows, rows] otherwise (a ViT-S/16 at 224 px has 196 patches of 384
 * dimensions). Signs are fixed so each component's projections have a positive third moment:
 * an object covers fewer patches than its background, so it sits on the long, bright side.
 *
 * @example
 * const { projections, explained } = await principalComponents(patchTokens, { components: 3 });
 */
export async function principalComponents(x: tf.Tensor2D, opts: PcaOptions = {}): Promise<PcaResult> {
  if (x.rank !== 2) throw new ShapeError(`principalComponents: expected [rows, dim], got shape [${x.shape}]`);
  const [rows, dim] = x.shape;
  const k = Math.min(opts.components ?? PCA_DEFAULTS.components, rows, dim);
  const maxIterations = opts.maxIterations ?? PCA_DEFAULTS.maxIterations;
  const tolerance = opts.tolerance ?? PCA_DEFAULTS.tolerance;
  if (!(k >= 1) || rows < 2) throw new ShapeError(`principalComponents: need at least 2 rows and 1 component (rows ${rows}, dim ${dim})`);
  const gram = rows < dim;
  const m = gram ? rows : dim;

  const [xc, mat, totalT] = tf.tidy(() => {
    const centred = tf.sub(x, tf.mean(x, 0, true)) as tf.Tensor2D;
    const g = gram ? tf.matMul(centred, centred, false, true) : tf.matMul(centred, centred, true, false);
    return [centred, g as tf.Tensor2D, tf.sum(tf.square(centred))];
  });
  // A fixed pseudo-random start: deterministic, and (almost surely) not orthogonal to the top subspace.
  const rng = new Rng(opts.seed ?? PCA_DEFAULTS.seed);
  const start = tf.tensor2d(Float32Array.from({ length: m * k }, () => rng.normal()), [m, k]);
  let q = orthonormalize(start);
  start.dispose();
  let iterations = 0;
  try {
    while (iterations < maxIterations) {
      const next = tf.tidy(() => orthonormalize(tf.matMul(mat, q)));
      iterations++;
      // How far each direction moved: 1 - |cos(previous, next)|.
      const cos = tf.tidy(() => tf.abs(tf.sum(tf.mul(q, next), 0)));
      const moved = Array.from(await cos.data()).map((c) => 1 - c);
      cos.dispose();
      q.dispose();
      q = next;
      if (Math.max(...moved) < tolerance) break;
    }

    // Eigenvalues (Rayleigh quotients) and projections, largest first.
    const lambdaT = tf.tidy(() => tf.sum(tf.mul(q, tf.matMul(mat, q)), 0));
    const lambda = Float32Array.from(await lambdaT.data());
    lambdaT.dispose();
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => lambda[b] - lambda[a]);
    const [projT, compT] = tf.tidy(() => {
      const qs = tf.gather(q, order, 1) as tf.Tensor2D;
      const ls = tf.maximum(tf.gather(tf.tensor1d(lambda), order), 0);
      if (gram) {
        // XXᵀ = U S² Uᵀ: projections U S, directions Xᵀ U / S.
        const s = tf.sqrt(ls);
        const proj = tf.mul(qs, s);
        const comp = tf.transpose(tf.div(tf.matMul(xc, qs, true, false), tf.maximum(s, 1e-30)));
        return [proj, comp];
      }
      return [tf.matMul(xc, qs), tf.transpose(qs)];
    });
    const projections = Float32Array.from(await projT.data());
    const components = Float32Array.from(await compT.data());
    const total = (await totalT.data())[0];
    tf.dispose([projT, compT]);

    const variances = new Float32Array(k);
    const explained = new Float32Array(k);
    for (let j = 0; j < k; j++) {
      const l = Math.max(lambda[order[j]], 0);
      variances[j] = l / (rows - 1);
      explained[j] = total > 0 ? l / total : 0;
      // Sign: a positive third moment (see above); a symmetric component keeps the sign it has.
      let third = 0;
      for (let i = 0; i < rows; i++) third += projections[i * k + j] ** 3;
      if (third < 0) {
        for (let i = 0; i < rows; i++) projections[i * k + j] = -projections[i * k + j];
        for (let c = 0; c < dim; c++) components[j * dim + c] = -components[j * dim + c];
      }
    }
    return { rows, dim, k, projections, components, variances, explained, iterations };
  } finally {
    tf.dispose([xc, mat, totalT, q]);
  }
}

export interface PcaRgbOptions {
  /** Nearest enlargement of each grid cell (the patch size gives a picture of the input's size). Default 1. */
  scale?: number;
}

/**
 * The first three components of a patch grid [h, w] as an opaque RGBA picture: component j in
 * channel j, each scaled from its minimum to its maximum over the grid (a missing component, or
 * one without spread, is mid-grey).
 */
export function pcaRgb(pca: PcaResult, height: number, width: number, opts: PcaRgbOptions = {}): RgbaImage {
  if (pca.rows !== height * width) throw new ShapeError(`pcaRgb: ${pca.rows} rows for a ${height}x${width} grid`);
  const scale = opts.scale ?? 1;
  const lo = new Float32Array(3).fill(Infinity), hi = new Float32Array(3).fill(-Infinity);
  for (let i = 0; i < pca.rows; i++) {
    for (let j = 0; j < Math.min(3, pca.k); j++) {
      const v = pca.projections[i * pca.k + j];
      lo[j] = Math.min(lo[j], v);
      hi[j] = Math.max(hi[j], v);
    }
  }
  const W = width * scale, H = height * scale;
  const data = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const cell = Math.floor(y / scale) * width + Math.floor(x / scale);
      const o = (y * W + x) * 4;
      for (let j = 0; j < 3; j++) {
        const range = hi[j] - lo[j];
        data[o + j] = j < pca.k && range > 0 ? Math.round((255 * (pca.projections[cell * pca.k + j] - lo[j])) / range) : 128;
      }
      data[o + 3] = 255;
    }
  }
  return { data, width: W, height: H };
}

/**
 * The PCA map of one image's patch features (the last block's tokens after the final norm):
 * `image` is [1, H, W, C], normalised as the backbone expects.
 *
 * @example
 * const { pca, picture } = await patchFeaturePca(vit, x);   // picture: RGBA of the input's size
 */
export async function patchFeaturePca(backbone: Backbone, image: tf.Tensor4D, opts: PcaOptions = {}): Promise<{ pca: PcaResult; picture: RgbaImage; grid: [number, number] }> {
  const [b, H, W] = image.shape;
  if (b !== 1) throw new ShapeError(`patchFeaturePca: one image at a time, got a batch of ${b}`);
  const p = backbone.patchSize;
  const grid: [number, number] = [Math.floor(H / p), Math.floor(W / p)];
  const tokens = tf.tidy(() => {
    const { patchTokens } = backbone.forwardFeatures(image);
    return tf.reshape(patchTokens, [patchTokens.shape[1], patchTokens.shape[2]]) as tf.Tensor2D;
  });
  try {
    const pca = await principalComponents(tokens, opts);
    return { pca, picture: pcaRgb(pca, grid[0], grid[1], { scale: p }), grid };
  } finally {
    tokens.dispose();
  }
}
