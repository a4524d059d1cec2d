/**
 * @dino-ts/augment: DINO's multi-crop augmentation as batched tfjs tensor ops, each op equal to
 * its torchvision 0.14 tensor counterpart, with per-sample parameters drawn from a seeded Rng.
 *
 * ```ts
 * import { Rng } from '@dino-ts/core';
 * import { createDinoAugmentation, dinoAugmentConfigForImageSize } from '@dino-ts/augment';
 *
 * const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(32)); // CIFAR: 2 x 32 px + 8 x 16 px
 * const crops = aug.apply(images, new Rng(0)); // images [B, 32, 32, 3] in [0, 1]
 * ```
 *
 * Only what a user calls or names is exported here; the modules' helpers (resampling matrices,
 * separable maps, input checks) stay inside.
 */

// The multi-crop pipeline (the reference's DataAugmentationDINO) and its configuration.
export { MultiCropAugmentation, createDinoAugmentation, type CropKind } from './multi-crop-augmentation';
export {
  DINO_AUGMENT_DEFAULTS,
  REFERENCE_GLOBAL_SIZE,
  resolveDinoAugmentConfig,
  dinoAugmentConfigForImageSize,
  type DinoAugmentConfig,
  type DinoAugmentOptions,
  type JitterConfig,
  type BlurConfig,
} from './dino-augment-config';

// The settings an application exposes (flags, config files), declared once.
export {
  MULTICROP_SETTINGS,
  PHOTOMETRIC_SETTINGS,
  augmentOptionsFromSettings,
  type MultiCropSettings,
  type PhotometricSettings,
} from './multi-crop-settings';

// One crop kind: its recipe, its random draw for a batch, and the rendering of that draw.
export { sampleCropParams, applyCropParams, type CropSpec, type CropParams, type ApplyCropOptions } from './crop-params';

// The random draws of torchvision's transforms (get_params), from an Rng.
export {
  sampleResizedCropBox,
  sampleColorJitter,
  RESIZED_CROP_SCALE,
  RESIZED_CROP_RATIO,
  JITTER_OPS,
  type ColorJitterParams,
  type JitterStrength,
} from './sampling';

// The ops, batched, each with one parameter per sample.
export { resizedCrop, type CropBox, type ResizedCropOptions } from './resized-crop';
export { INTERPOLATIONS, type Interpolation } from './interpolation';
export type { MapMode } from './separable';
export { hflip } from './flip';
export { adjustBrightness, adjustContrast, adjustSaturation } from './adjust';
export { adjustHue } from './hue';
export { colorJitter } from './color-jitter';
export { rgbToGrayscale, grayscaleSamples } from './grayscale';
export { gaussianBlur, blurKernelSize } from './blur';
export { solarize, SOLARIZE_THRESHOLD } from './solarize';
export { normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize';
export type { PerSample, SampleMask } from './images';
