/**
 * The pictures of visualize_attention.py for any backbone: the input image, a heat map per head
 * (and of the head mean) at pixel resolution (nearest upsampling by the patch size), the
 * thresholded masks over the image; a gallery grid of several images. All of it is computed on
 * host arrays, so it runs in a browser (`attentionImageData` gives RGBA pictures for a canvas);
 * writing the PNG files, named as the reference names them, is `saveAttentionVisualization` in
 * '@dino-ts/eval/node'.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Backbone } from '@dino-ts/backbones';
import { attentionMaps, attentionMaskArray } from './attention';
import { DEFAULTS } from './defaults';
import {
  enlarge,
  heatmapImage,
  imageGrid,
  maskOverlay,
  toImageData,
  toRgbImage,
  type GridOptions,
  type RgbaImage,
  type RgbImage,
  type ToRgbOptions,
} from './render';
import { upsampleMask } from './attention-segmentation';

export interface AttentionVisualization {
  /** The input, cropped to the patch grid. */
  image: RgbImage;
  /** Heat map per head. */
  heads: RgbImage[];
  /** Heat map of the head mean. */
  mean: RgbImage;
  /** Mask overlay per head. */
  headMasks: RgbImage[];
  /** Mask overlay of the head mean. */
  meanMask: RgbImage;
  threshold: number;
}

export interface VisualizeOptions extends ToRgbOptions {
  /** Mass kept by the masks. Default 0.6. */
  threshold?: number;
  /** Integer enlargement of every picture (small images). Default 1. */
  scale?: number;
}

/**
 * @example
 * const [vis] = await visualizeAttention(vit, image, { mean: IMAGENET_MEAN, std: IMAGENET_STD });
 * await saveAttentionVisualization('out', vis); // Node: from '@dino-ts/eval/node'
 * const { mean } = attentionImageData(vis);      // browser: RGBA for a canvas
 */
export async function visualizeAttention(backbone: Backbone, images: tf.Tensor4D, opts: VisualizeOptions = {}): Promise<AttentionVisualization[]> {
  const threshold = opts.threshold ?? DEFAULTS.attention.threshold;
  const scale = opts.scale ?? 1;
  const p = backbone.patchSize;
  const maps = attentionMaps(backbone, images);
  const [b, nh, h, w] = maps.perHead.shape;
  const [, , , c] = images.shape;
  const cropped = tf.slice(images, [0, 0, 0, 0], [b, h * p, w * p, c]);
  const [headData, meanData, pixels] = await Promise.all([
    maps.perHead.data() as Promise<Float32Array>,
    maps.mean.data() as Promise<Float32Array>,
    cropped.data() as Promise<Float32Array>,
  ]);
  tf.dispose([maps.perHead, maps.mean, cropped]);
  const hp = h * p, wp = w * p;
  const big = (img: RgbImage) => (scale > 1 ? enlarge(img, scale) : img);
  const out: AttentionVisualization[] = [];
  const mask = new Uint8Array(h * w);
  for (let i = 0; i < b; i++) {
    const image = toRgbImage(pixels.subarray(i * hp * wp * c, (i + 1) * hp * wp * c), hp, wp, c, opts);
    const picture = (map: Float32Array) => {
      const heat = heatmapImage(upsampleMask01(map, h, w, p), hp, wp);
      attentionMaskArray(map, threshold, mask);
      return { heat: big(heat), overlay: big(maskOverlay(image, upsampleMask(mask, h, w, p))) };
    };
    const heads = Array.from({ length: nh }, (_, k) => picture(headData.subarray((i * nh + k) * h * w, (i * nh + k + 1) * h * w)));
    const mean = picture(meanData.subarray(i * h * w, (i + 1) * h * w));
    out.push({
      image: big(image),
      heads: heads.map((x) => x.heat),
      mean: mean.heat,
      headMasks: heads.map((x) => x.overlay),
      meanMask: mean.overlay,
      threshold,
    });
  }
  return out;
}

/** Nearest upsampling of a float map by the patch size. */
function upsampleMask01(map: Float32Array, h: number, w: number, p: number): Float32Array {
  const W = w * p;
  const out = new Float32Array(h * p * W);
  for (let y = 0; y < h * p; y++) for (let x = 0; x < W; x++) out[y * W + x] = map[Math.floor(y / p) * w + Math.floor(x / p)];
  return out;
}

/**
 * One row per image: input, mean heat map, per-head heat maps, mean mask, per-head masks.
 */
export function attentionGallery(vis: AttentionVisualization[], opts: GridOptions = {}): RgbImage {
  const rows = vis.map((v) => [v.image, v.mean, ...v.heads, v.meanMask, ...v.headMasks]);
  return imageGrid(rows.flat(), { cols: rows[0].length, ...opts });
}

/** `AttentionVisualization` with every picture as RGBA (`ImageData`-shaped). */
export interface AttentionImageData {
  image: RgbaImage;
  heads: RgbaImage[];
  mean: RgbaImage;
  headMasks: RgbaImage[];
  meanMask: RgbaImage;
  threshold: number;
}

/**
 * The pictures of a visualization as opaque RGBA, for a page: each draws with
 * `ctx.putImageData(new ImageData(p.data, p.width, p.height), x, y)`.
 *
 * @example
 * const [vis] = await visualizeAttention(vit, x);
 * const { mean, meanMask } = attentionImageData(vis);
 */
export function attentionImageData(vis: AttentionVisualization): AttentionImageData {
  return {
    image: toImageData(vis.image),
    heads: vis.heads.map((h) => toImageData(h)),
    mean: toImageData(vis.mean),
    headMasks: vis.headMasks.map((m) => toImageData(m)),
    meanMask: toImageData(vis.meanMask),
    threshold: vis.threshold,
  };
}
