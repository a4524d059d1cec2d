/**
 * Property 1 for one picture: the last block's CLS attention per head and averaged over heads,
 * the masks keeping `threshold` of its mass (with their Jaccard against the object's mask when
 * there is one), and the first three principal components of the patch features as RGB. Pure
 * functions of a backbone and an input (no worker state), so the Node benchmark runs exactly
 * what the page runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Backbone } from '@dino-ts/backbones';
import { attentionMaps, attentionMask, heatmapImage, jaccard, maskLayer, toImageData } from '@dino-ts/eval';
import { pcaRgb, principalComponents } from '@dino-ts/eval';
import type { Analysis } from './protocol';

/** Nearest enlargement of a [h, w] map by `p` (patch grid to pixels). */
export function enlarge(map: ArrayLike<number>, h: number, w: number, p: number): Float32Array {
  const out = new Float32Array(h * p * w * p);
  for (let y = 0; y < h * p; y++) for (let x = 0; x < w * p; x++) out[y * w * p + x] = map[Math.floor(y / p) * w + Math.floor(x / p)];
  return out;
}

/** A mask of `width` columns cropped to the [H, W] region the patches cover (as the reference crops). */
export function cropMask(mask: ArrayLike<number>, width: number, H: number, W: number): Uint8Array {
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = mask[y * width + x] ? 1 : 0;
  return out;
}

export interface AnalyzeOptions {
  /** Attention mass the masks keep (the reference: 0.6). */
  threshold: number;
  /** The object's mask at the input's size, row-major (shapes samples). */
  objectMask?: ArrayLike<number>;
  /** Called between the attention and the PCA. */
  onHalfway?: () => void;
}

/**
 * Property 1 of `backbone` on `x` [1, H, W, C] (normalised). Every tensor it makes is freed
 * before it returns; the result is host arrays only.
 */
export async function analyzePicture(backbone: Backbone, x: tf.Tensor4D, opts: AnalyzeOptions): Promise<Omit<Analysis, 'network'>> {
  const started = performance.now();
  const p = backbone.patchSize;
  const maps = attentionMaps(backbone, x);
  let headData: Float32Array, meanData: Float32Array, headMaskData: Float32Array, meanMaskData: Float32Array;
  try {
    const [headMaskT, meanMaskT] = await Promise.all([attentionMask(maps.perHead, opts.threshold), attentionMask(maps.mean, opts.threshold)]);
    [headData, meanData, headMaskData, meanMaskData] = (await Promise.all([maps.perHead.data(), maps.mean.data(), headMaskT.data(), meanMaskT.data()])) as Float32Array[];
    tf.dispose([headMaskT, meanMaskT]);
  } finally {
    tf.dispose([maps.perHead, maps.mean]);
  }
  const [, nh, h, w] = maps.perHead.shape;
  const H = h * p, W = w * p;
  const [, inH, inW] = x.shape;
  const gt = opts.objectMask && opts.objectMask.length === inH * inW ? cropMask(opts.objectMask, inW, H, W) : null;
  const heat = (map: Float32Array) => toImageData(heatmapImage(enlarge(map, h, w, p), H, W));
  const maskOf = (m: Float32Array) => {
    const px = enlarge(m, h, w, p);
    return { layer: maskLayer(px, H, W), fraction: m.reduce((s, v) => s + v, 0) / m.length, jaccard: gt ? jaccard(px, gt) : NaN };
  };
  const grid = (data: Float32Array, k: number) => data.subarray(k * h * w, (k + 1) * h * w);
  const heads = Array.from({ length: nh }, (_, k) => ({ heat: heat(grid(headData, k)), mask: maskOf(grid(headMaskData, k)) }));
  const mean = { heat: heat(meanData), mask: maskOf(meanMaskData) };
  const attentionMs = performance.now() - started;
  opts.onHalfway?.();

  // The patch features' principal components, and the CLS feature (what k-NN compares).
  const pcaStarted = performance.now();
  const [clsT, tokens] = tf.tidy(() => {
    const f = backbone.forwardFeatures(x);
    return [f.cls, tf.reshape(f.patchTokens, [f.patchTokens.shape[1], f.patchTokens.shape[2]]) as tf.Tensor2D];
  });
  let cls: Float32Array;
  let pca: Awaited<ReturnType<typeof principalComponents>>;
  try {
    cls = Float32Array.from(await clsT.data());
    pca = await principalComponents(tokens);
  } finally {
    tf.dispose([clsT, tokens]);
  }
  const result: Omit<Analysis, 'network'> = {
    grid: [h, w],
    numHeads: nh,
    meanHeat: mean.heat,
    headHeat: heads.map((r) => r.heat),
    meanMask: mean.mask.layer,
    headMasks: heads.map((r) => r.mask.layer),
    meanMaskFraction: mean.mask.fraction,
    headMaskFractions: heads.map((r) => r.mask.fraction),
    pca: pcaRgb(pca, h, w, { scale: p }),
    pcaExplained: Array.from(pca.explained),
    cls,
    ms: { attention: attentionMs, pca: performance.now() - pcaStarted, total: performance.now() - started },
  };
  if (gt) result.jaccard = { mean: mean.mask.jaccard, perHead: heads.map((r) => r.mask.jaccard) };
  return result;
}
