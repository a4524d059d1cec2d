/**
 * The run's multi-crop augmentation, and the randomness of each iteration's crops: shared by the
 * training loop and the augmentation worker, so both make the same crops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { augmentOptionsFromSettings, createDinoAugmentation, dinoAugmentConfigForImageSize } from '@dino-ts/augment';
import { nest, type TrainConfig } from './config';

/** The statistics and geometry of the data the augmentation needs. */
export interface AugmentationData {
  imageSize: number;
  channels: number;
  mean: number[];
  std: number[];
}

export type Augmentation = ReturnType<typeof augmentation>;

/** The run's augmentation: its multi-crop group (the one the trainer reads) and photometric one. */
export function augmentation(c: TrainConfig, d: AugmentationData) {
  const { multicrop, photometric, backboneSize } = nest(c);
  return createDinoAugmentation(
    dinoAugmentConfigForImageSize(multicrop.globalCropsSize ?? d.imageSize, {
      // Local crops are rounded to the patch size, so a ViT can take them.
      patchSize: backboneSize.patchSize,
      ...augmentOptionsFromSettings(multicrop, photometric),
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
