/**
 * The run's multi-crop augmentation, and the randomness of each iteration's crops: shared by the
 * training loop and the augmentation worker, so both make the same crops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { createDinoAugmentation, dinoAugmentConfigForImageSize } from '@dino-ts/augment';
import type { TrainConfig } from './config';

/** The statistics and geometry of the data the augmentation needs. */
export interface AugmentationData {
  imageSize: number;
  channels: number;
  mean: number[];
  std: number[];
}

export type Augmentation = ReturnType<typeof augmentation>;

export function augmentation(c: TrainConfig, d: AugmentationData) {
  return createDinoAugmentation(
    dinoAugmentConfigForImageSize(c.globalCropsSize ?? d.imageSize, {
      patchSize: c.patchSize,
      localCropsNumber: c.localCropsNumber,
      globalCropsScale: c.globalCropsScale,
      localCropsScale: c.localCropsScale,
      ...(c.localCropsSize ? { localCropsSize: c.localCropsSize } : {}),
      jitter: { brightness: c.jitterBrightness, contrast: c.jitterContrast, saturation: c.jitterSaturation, hue: c.jitterHue, p: c.jitterP },
      grayscaleP: c.grayscaleP,
      mean: d.mean,
      std: d.std,
    }),
  );
}

/** The augmentation's randomness for iteration `it`: a pure function of (seed, it). */
export function iterationRng(seed: number, it: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(it + 1, 0x85ebca77)) >>> 0);
}

/** The crops of iteration `iteration` of a batch (NHWC in [0, 1]); the caller disposes them. */
export function makeCrops(aug: Augmentation, seed: number, images: Float32Array, shape: [number, number, number, number], iteration: number): tf.Tensor4D[] {
  return tf.tidy(() => aug.apply(tf.tensor4d(images, shape), iterationRng(seed, iteration)));
}
