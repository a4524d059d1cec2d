/**
 * Segmentation quality of the self-attention masks (the paper's Jaccard evaluation, e.g. PASCAL
 * VOC12: DINO ViT-S/16 45.9): the mass-threshold mask of each head (and of the head-averaged map),
 * upsampled to pixels, against the ground-truth object mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkInt } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { attentionMaps, attentionMaskArray } from './attention';
import { DEFAULTS } from './defaults';
import { toImageTensor, type ImageSource } from './image-source';

/**
 * Jaccard index (IoU) of two binary masks (non-zero = inside); 1 when both are empty.
 *
 * @example
 * jaccard([1, 1, 0, 0], [0, 1, 1, 0]); // 1/3
 */
export function jaccard(pred: ArrayLike<number>, gt: ArrayLike<number>): number {
  if (pred.length !== gt.length) throw new ShapeError(`jaccard: ${pred.length} vs ${gt.length} pixels`);
  let inter = 0, union = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i] !== 0, b = gt[i] !== 0;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Patch-grid mask [h, w] -> pixel mask [h * p, w * p] (nearest). */
export function upsampleMask(mask: ArrayLike<number>, h: number, w: number, patchSize: number): Uint8Array {
  const W = w * patchSize;
  const out = new Uint8Array(h * patchSize * W);
  for (let y = 0; y < h * patchSize; y++) {
    for (let x = 0; x < W; x++) out[y * W + x] = mask[Math.floor(y / patchSize) * w + Math.floor(x / patchSize)] ? 1 : 0;
  }
  return out;
}

export interface AttentionSegmentationOptions {
  /** Mass kept by the masks. Default 0.6. */
  threshold?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AttentionSegmentationResult {
  numImages: number;
  numHeads: number;
  /** Mean Jaccard over the images, per head. */
  perHead: number[];
  /** The head with the highest mean Jaccard, and that mean. */
  bestHead: number;
  bestHeadJaccard: number;
  /** Mean Jaccard of the mask of the head-averaged attention map. */
  meanHeads: number;
  /** Per image: [numImages, numHeads] per head, [numImages] for the head-averaged map. */
  perImage: { perHead: Float64Array; meanHeads: Float64Array };
}

/**
 * Scores the attention masks of a backbone on a data set with object masks (items with `masks`,
 * [B * H * W], 1 = object). Images whose size is not a multiple of the patch size are scored on
 * the covered top-left region, as the reference crops them.
 *
 * @example
 * const r = await evaluateAttentionSegmentation(vit, vocSource);
 * console.log(r.bestHead, r.bestHeadJaccard, r.meanHeads);
 */
export async function evaluateAttentionSegmentation(
  backbone: Backbone,
  source: ImageSource,
  opts: AttentionSegmentationOptions = {},
): Promise<AttentionSegmentationResult> {
  const threshold = opts.threshold ?? DEFAULTS.attention.threshold;
  const batchSize = opts.batchSize ?? DEFAULTS.extract.batchSize;
  checkInt('batchSize', batchSize, 1);
  const n = source.length;
  checkInt('source.length', n, 1);
  const p = backbone.patchSize;
  let heads = 0;
  let perHead: Float64Array | null = null;
  const meanHeads = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const batch = await source.getBatch(start, end);
    const x = toImageTensor(batch.images);
    const [b, H, W] = x.shape;
    let maps: ReturnType<typeof attentionMaps>;
    try {
      if (!batch.masks || batch.masks.length !== b * H * W) {
        throw new ShapeError(`source.getBatch(${start}, ${end}) must return masks of ${b} x ${H} x ${W} values`);
      }
      maps = attentionMaps(backbone, x);
    } finally {
      x.dispose();
    }
    const [, nh, h, w] = maps.perHead.shape;
    const headData = (await maps.perHead.data()) as Float32Array;
    const meanData = (await maps.mean.data()) as Float32Array;
    tf.dispose([maps.perHead, maps.mean]);
    if (!perHead) {
      heads = nh;
      perHead = new Float64Array(n * nh);
    }
    const hp = h * p, wp = w * p;
    const mask = new Uint8Array(h * w);
    for (let i = 0; i < b; i++) {
      // Ground truth cropped to the region the patches cover.
      const gt = new Uint8Array(hp * wp);
      for (let y = 0; y < hp; y++) for (let xx = 0; xx < wp; xx++) gt[y * wp + xx] = batch.masks[(i * H + y) * W + xx] ? 1 : 0;
      for (let k = 0; k < nh; k++) {
        attentionMaskArray(headData.subarray((i * nh + k) * h * w, (i * nh + k + 1) * h * w), threshold, mask);
        perHead[(start + i) * nh + k] = jaccard(upsampleMask(mask, h, w, p), gt);
      }
      attentionMaskArray(meanData.subarray(i * h * w, (i + 1) * h * w), threshold, mask);
      meanHeads[start + i] = jaccard(upsampleMask(mask, h, w, p), gt);
    }
    opts.onProgress?.(end, n);
  }
  const headMeans = Array.from({ length: heads }, (_, k) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += perHead![i * heads + k];
    return s / n;
  });
  const bestHead = headMeans.indexOf(Math.max(...headMeans));
  return {
    numImages: n,
    numHeads: heads,
    perHead: headMeans,
    bestHead,
    bestHeadJaccard: headMeans[bestHead],
    meanHeads: meanHeads.reduce((a, v) => a + v, 0) / n,
    perImage: { perHead: perHead!, meanHeads },
  };
}
