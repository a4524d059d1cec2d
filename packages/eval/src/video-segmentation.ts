/**
 * Video object segmentation by label propagation (eval_video_segmentation.py, after Jabri et al.
 * and UVC): the first frame's labels travel to every later frame through the affinity of the
 * last block's patch features. For each target frame: cosine affinity to the patches of the
 * context (the first frame and the last `nLastFrames` frames), exp(affinity / 0.1), restricted
 * to a spatial window of radius `sizeMaskNeighborhood`, only the `topk` strongest sources of
 * each target patch kept, normalised; the soft labels of the context, weighted by it, give the
 * target's soft labels; upsampled bilinearly, min-max normalised per object, argmax, resized to
 * the original size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkInt, checkNumber, l2Normalize } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';
import type { Map2D } from './davis';
import { resizeNearest, upsampleBilinear } from './resize';

export interface PropagationOptions {
  /** Patch grid of the frames. */
  height: number;
  width: number;
  /** Strongest source patches kept per target patch. Default 5. */
  topk?: number;
  /** Affinity exp(cosine / temperature). Default 0.1. */
  temperature?: number;
  /** Window of (2 s + 1)^2 source patches around each target patch; 0 = no restriction. Default 12. */
  sizeMaskNeighborhood?: number;
}

/**
 * The window mask of restrict_neighborhood: [h*w (target), h*w (source)], 1 where the source patch
 * is within `size` rows and columns of the target patch.
 */
export function restrictNeighborhood(height: number, width: number, size: number): Float32Array {
  const n = height * width;
  const m = new Float32Array(n * n);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      for (let p = Math.max(0, i - size); p <= Math.min(height - 1, i + size); p++) {
        for (let q = Math.max(0, j - size); q <= Math.min(width - 1, j + size); q++) m[(i * width + j) * n + p * width + q] = 1;
      }
    }
  }
  return m;
}

/**
 * One propagation step (label_propagation): target features [h*w, D], context features and soft
 * labels ([h*w, D] and [h*w, C] per context frame) -> the target's soft labels [h*w, C].
 *
 * @example
 * const seg = labelPropagation(feat, [feat0, feat5], [seg0, seg5], { height: 30, width: 56 });
 */
export function labelPropagation(
  featTarget: tf.Tensor2D,
  contextFeats: tf.Tensor2D[],
  contextSegs: tf.Tensor2D[],
  opts: PropagationOptions,
  neighborhood?: tf.Tensor2D,
): tf.Tensor2D {
  const { height, width } = opts;
  const topk = opts.topk ?? DEFAULTS.video.topk;
  const temperature = opts.temperature ?? DEFAULTS.video.temperature;
  const size = opts.sizeMaskNeighborhood ?? DEFAULTS.video.sizeMaskNeighborhood;
  const hw = height * width;
  if (contextFeats.length === 0 || contextFeats.length !== contextSegs.length) {
    throw new ShapeError(`labelPropagation: ${contextFeats.length} context features and ${contextSegs.length} context labels`);
  }
  checkInt('topk', topk, 1, hw * contextFeats.length);
  checkNumber('temperature', temperature, { min: 0, minExclusive: true });
  checkInt('sizeMaskNeighborhood', size, 0);
  for (const f of [featTarget, ...contextFeats]) {
    if (f.rank !== 2 || f.shape[0] !== hw) throw new ShapeError(`labelPropagation: features must be [${hw}, D], got [${f.shape}]`);
  }
  return tf.tidy(() => {
    const n = contextFeats.length;
    const tar = l2Normalize(featTarget);
    const src = l2Normalize(tf.concat(contextFeats, 0) as tf.Tensor2D);
    // [target, context * source]: columns ordered context-major as the reference's rows.
    let aff = tf.exp(tf.div(tf.matMul(tar, tf.transpose(src)), temperature)) as tf.Tensor2D;
    if (size > 0) {
      const mask = neighborhood ?? tf.tensor2d(restrictNeighborhood(height, width, size), [hw, hw]);
      aff = tf.mul(aff, n > 1 ? tf.tile(mask, [1, n]) : mask);
    }
    // Keep the sources at least as strong as the k-th strongest (ties at the k-th are all kept).
    const kth = tf.slice(tf.topk(aff, topk, true).values, [0, topk - 1], [hw, 1]);
    aff = tf.where(tf.less(aff, kth), tf.zerosLike(aff), aff);
    aff = tf.div(aff, tf.sum(aff, 1, true));
    return tf.matMul(aff, tf.concat(contextSegs, 0) as tf.Tensor2D);
  });
}

/** Frames of a video at the processing size: normalised [H, W, C] (or [1, H, W, C]) tensors. */
export interface VideoFrames {
  readonly length: number;
  /** The returned tensor is disposed after use. */
  getFrame(index: number): Promise<tf.Tensor3D | tf.Tensor4D> | tf.Tensor3D | tf.Tensor4D;
}

export interface SegmentVideoOptions extends Omit<PropagationOptions, 'height' | 'width'> {
  /** Context frames besides the first. Default 7. */
  nLastFrames?: number;
  /** Called with each frame's label map (at the original size) as soon as it is ready. */
  onFrame?: (index: number, labels: Map2D & { data: Int32Array }) => void;
}

/**
 * The last block's patch tokens of one frame: [h*w, D] (extract_feature). For a ViT these are the
 * reference's get_intermediate_layers(x, 1)[0][:, 1:] (the final-normalised last block without
 * its CLS); for a convnet, its last feature map, one row per position.
 */
export function framePatchFeatures(backbone: Backbone, frame: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const { patchTokens } = backbone.forwardFeatures(frame);
    const [, n, d] = patchTokens.shape;
    return tf.reshape(patchTokens, [n, d]) as tf.Tensor2D;
  });
}

/**
 * Segments a whole video from its first frame's label map (0 = background, 1..N objects, at the
 * original resolution). Returns one label map per frame at the original size, the first being the
 * given one, as eval_video_tracking_davis writes them.
 *
 * @example
 * const labels = await segmentVideo(vit, frames, firstAnnotation);
 * const seq = evaluateDavisSequence(groundTruth, labels);
 */
export async function segmentVideo(
  backbone: Backbone,
  frames: VideoFrames,
  firstLabels: Map2D,
  opts: SegmentVideoOptions = {},
): Promise<(Map2D & { data: Int32Array })[]> {
  const nLast = opts.nLastFrames ?? DEFAULTS.video.nLastFrames;
  checkInt('nLastFrames', nLast, 0);
  checkInt('frames.length', frames.length, 1);
  const p = backbone.patchSize;
  const features = async (i: number) => {
    const raw = await frames.getFrame(i);
    const x = (raw.rank === 3 ? tf.expandDims(raw, 0) : raw) as tf.Tensor4D;
    const [, H, W] = x.shape;
    try {
      if (H % p !== 0 || W % p !== 0) throw new ShapeError(`frame ${i} is ${H}x${W}, not a multiple of the patch size ${p}`);
      return { feat: framePatchFeatures(backbone, x), h: H / p, w: W / p };
    } finally {
      if (x !== raw) x.dispose();
      raw.dispose();
    }
  };
  const first = await features(0);
  const { h, w } = first;
  const oriH = firstLabels.height, oriW = firstLabels.width;
  const first32 = { data: Int32Array.from(firstLabels.data), height: oriH, width: oriW };
  const results: (Map2D & { data: Int32Array })[] = [first32];
  opts.onFrame?.(0, first32);
  // read_seg: nearest-resized to the patch grid, one channel per label 0..max.
  const small = resizeNearest(firstLabels, h, w);
  // At least two channels: tf.oneHot needs depth >= 2, and a first frame may hold one label only.
  const numLabels = Math.max(2, Math.max(...small.data) + 1);
  const seg0 = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(small.data, 'int32'), numLabels), 'float32') as tf.Tensor2D);
  const size = opts.sizeMaskNeighborhood ?? DEFAULTS.video.sizeMaskNeighborhood;
  const mask = size > 0 ? tf.tensor2d(restrictNeighborhood(h, w, size), [h * w, h * w]) : undefined;
  const queue: { feat: tf.Tensor2D; seg: tf.Tensor2D }[] = [];
  try {
    for (let t = 1; t < frames.length; t++) {
      const cur = await features(t);
      if (cur.h !== h || cur.w !== w) {
        cur.feat.dispose();
        throw new ShapeError(`frame ${t} has a ${cur.h}x${cur.w} patch grid, frame 0 has ${h}x${w}`);
      }
      const seg = labelPropagation(
        cur.feat,
        [first.feat, ...queue.map((q) => q.feat)],
        [seg0, ...queue.map((q) => q.seg)],
        { ...opts, height: h, width: w },
        mask,
      );
      if (queue.length === nLast) {
        const old = queue.shift();
        if (old) tf.dispose([old.feat, old.seg]);
      }
      if (nLast > 0) queue.push({ feat: cur.feat, seg });
      const soft = (await seg.data()) as Float32Array;
      if (nLast === 0) tf.dispose([cur.feat, seg]);
      const labels = resizeNearest(softToLabels(soft, h, w, numLabels, p), oriH, oriW);
      results.push(labels);
      opts.onFrame?.(t, labels);
    }
  } finally {
    tf.dispose([first.feat, seg0, ...(mask ? [mask] : []), ...queue.flatMap((q) => [q.feat, q.seg])]);
  }
  return results;
}

/**
 * Soft labels on the patch grid [h*w, C] -> label map at h*p x w*p: bilinear upsampling by the
 * patch size, each channel min-max normalised when its maximum is positive (norm_mask), argmax
 * (the first channel wins ties).
 */
export function softToLabels(soft: Float32Array, h: number, w: number, channels: number, patchSize: number): Map2D & { data: Int32Array } {
  const up = upsampleBilinear(soft, h, w, channels, patchSize);
  const H = h * patchSize, W = w * patchSize;
  const lo = new Float32Array(channels).fill(Infinity), hi = new Float32Array(channels).fill(-Infinity);
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < channels; c++) {
      const v = up[i * channels + c];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
  }
  const range = Float32Array.from({ length: channels }, (_, c) => Math.fround(hi[c] - lo[c]));
  const out = new Int32Array(H * W);
  for (let i = 0; i < H * W; i++) {
    let best = 0, bestV = -Infinity;
    for (let c = 0; c < channels; c++) {
      let v = up[i * channels + c];
      if (hi[c] > 0) v = Math.fround(Math.fround(v - lo[c]) / range[c]);
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return { data: out, height: H, width: W };
}
