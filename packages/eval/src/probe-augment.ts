/**
 * The linear probe's training augmentation (eval_linear.py train_transform): RandomResizedCrop
 * (torchvision sampling: scale 0.08-1 of the area, log-uniform aspect ratio 3/4-4/3, 10 tries then
 * a centre crop) and a horizontal flip with probability 0.5, on a batch tensor. Bilinear resampling
 * with half-pixel centres (torchvision's resize without antialiasing, up to edge clamping).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, checkInt, checkNumber } from '@dino-ts/core';
import { DEFAULTS } from './defaults';

export interface RandomResizedCropOptions {
  /** Output [height, width]. Default: the input size. */
  size?: [number, number];
  scale?: readonly [number, number];
  ratio?: readonly [number, number];
  /** Probability of the horizontal flip. Default 0.5. */
  flipProbability?: number;
}

/** Crop box [top, left, height, width] in pixels, sampled as torchvision RandomResizedCrop.get_params. */
export function sampleCrop(
  height: number,
  width: number,
  rng: Rng,
  scale: readonly [number, number] = DEFAULTS.linear.cropScale,
  ratio: readonly [number, number] = DEFAULTS.linear.cropRatio,
): [number, number, number, number] {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return [rng.int(height - h + 1), rng.int(width - w + 1), h, w];
    }
  }
  // Fallback: the largest centre crop whose aspect ratio is within range.
  const inRatio = width / height;
  let w = width, h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

/**
 * Random-resized-crop + flip of every image of an NHWC batch.
 *
 * @example
 * const aug = randomResizedCropFlip(images, new Rng(0)); // same size as images
 */
export function randomResizedCropFlip(images: tf.Tensor4D, rng: Rng, opts: RandomResizedCropOptions = {}): tf.Tensor4D {
  const [b, H, W] = images.shape;
  const [oh, ow] = opts.size ?? [H, W];
  checkInt('size[0]', oh, 1);
  checkInt('size[1]', ow, 1);
  const p = opts.flipProbability ?? 0.5;
  checkNumber('flipProbability', p, { min: 0, max: 1 });
  const boxes = new Float32Array(b * 4);
  const flips = new Uint8Array(b);
  for (let i = 0; i < b; i++) {
    const [top, left, h, w] = sampleCrop(H, W, rng, opts.scale, opts.ratio);
    // cropAndResize samples y1 * (H - 1) + r * (y2 - y1) * (H - 1) / (oh - 1); these corners give
    // the half-pixel mapping top + (r + 0.5) * h / oh - 0.5 of torchvision's resize, clamped to the
    // image (torchvision clamps each sample to the edge; here only the corners are).
    const clampY = (v: number) => Math.min(Math.max(v, 0), H - 1);
    const clampX = (v: number) => Math.min(Math.max(v, 0), W - 1);
    const y0 = clampY(top + (0.5 * h) / oh - 0.5), y1 = clampY(top + ((oh - 0.5) * h) / oh - 0.5);
    const x0 = clampX(left + (0.5 * w) / ow - 0.5), x1 = clampX(left + ((ow - 0.5) * w) / ow - 0.5);
    boxes.set([y0 / Math.max(H - 1, 1), x0 / Math.max(W - 1, 1), y1 / Math.max(H - 1, 1), x1 / Math.max(W - 1, 1)], i * 4);
    flips[i] = rng.bernoulli(p) ? 1 : 0;
  }
  return tf.tidy(() => {
    const crops = tf.image.cropAndResize(
      images,
      tf.tensor2d(boxes, [b, 4]),
      tf.tensor1d(Int32Array.from({ length: b }, (_, i) => i), 'int32'),
      [oh, ow],
      'bilinear',
    );
    return tf.where(tf.tensor4d(flips, [b, 1, 1, 1], 'bool'), tf.reverse(crops, 2), crops) as tf.Tensor4D;
  });
}
