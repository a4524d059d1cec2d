/**
 * The linear probe's training augmentation (eval_linear.py train_transform): RandomResizedCrop
 * (scale 0.08-1 of the area, aspect ratio 3/4-4/3) and a horizontal flip with probability 0.5, on
 * a batch tensor.
 *
 * Both halves are @dino-ts/augment's, not a copy: the crop boxes come from
 * `sampleResizedCropBox` (torchvision's get_params, sides rounded half to even as Python's round)
 * and the pixels from `resizedCrop` (torchvision's F.resized_crop, bilinear, the flip folded into
 * the resampling weights), so the probe crops exactly as the multi-crop augmentation does.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, type Rng } from '@dino-ts/core';
import { resizedCrop, sampleResizedCropBox, type CropBox } from '@dino-ts/augment';
import { DEFAULTS } from './defaults';

export interface RandomResizedCropOptions {
  /** Output [height, width]. Default: the input size. */
  size?: [number, number];
  /** Area fraction range, within (0, 1]. Default [0.08, 1]. */
  scale?: readonly [number, number];
  /** Aspect-ratio (w / h) range. Default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  /** Probability of the horizontal flip. Default 0.5. */
  flipProbability?: number;
}

/** One batch's draw: a crop box and a flip per image. */
export interface ProbeCropParams {
  boxes: CropBox[];
  flip: Uint8Array;
}

/**
 * Draws the crop box and the flip of each of `batch` images of `height` x `width`, per image in
 * the order the reference's transforms draw them (RandomResizedCrop, then RandomHorizontalFlip).
 */
export function sampleProbeCrops(
  rng: Rng,
  batch: number,
  height: number,
  width: number,
  opts: RandomResizedCropOptions = {},
): ProbeCropParams {
  const p = opts.flipProbability ?? 0.5;
  checkNumber('flipProbability', p, { min: 0, max: 1 });
  const scale = opts.scale ?? DEFAULTS.linear.cropScale;
  const ratio = opts.ratio ?? DEFAULTS.linear.cropRatio;
  const boxes: CropBox[] = [];
  const flip = new Uint8Array(batch);
  for (let i = 0; i < batch; i++) {
    boxes.push(sampleResizedCropBox(rng, height, width, scale, ratio));
    flip[i] = rng.bernoulli(p) ? 1 : 0;
  }
  return { boxes, flip };
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
  const { boxes, flip } = sampleProbeCrops(rng, b, H, W, opts);
  return resizedCrop(images, boxes, [oh, ow], { method: 'bilinear', flip });
}
