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
 */
export { MultiCropAugmentation, createDinoAugmentation, type CropKind } from './multicrop';
export {
  DINO_AUGMENT_DEFAULTS,
  REFERENCE_GLOBAL_SIZE,
  resolveDinoAugmentConfig,
  dinoAugmentConfigForImageSize,
  type DinoAugmentConfig,
  type DinoAugmentOptions,
  type JitterConfig,
  type BlurConfig,
} from './config';
export { applyCropParams, sampleCropParams, checkCropParams, type CropSpec, type CropParams, type ApplyCropOptions } from './crop';
export {
  sampleResizedCropBox,
  centerCropFallback,
  sampleColorJitter,
  roundHalfEven,
  RESIZED_CROP_SCALE,
  RESIZED_CROP_RATIO,
  JITTER_OPS,
  type ColorJitterParams,
  type JitterStrength,
} from './sampling';
export { resizedCrop, checkCropBox, type CropBox, type ResizedCropOptions } from './resized-crop';
export { resampleMatrix, cubicWeights, INTERPOLATIONS, type Interpolation } from './interpolation';
export { separableMap, AUTO_PER_SAMPLE_MACS, type SeparableMaps, type MapMode } from './separable';
export { hflip } from './flip';
export { adjustBrightness, adjustContrast, adjustSaturation } from './adjust';
export { adjustHue } from './hue';
export { colorJitter } from './color-jitter';
export { rgbToGrayscale, grayscaleSamples, luma, LUMA_WEIGHTS } from './grayscale';
export { gaussianBlur, gaussianKernel1d, blurKernelSize, blurMatrix } from './blur';
export { solarize, SOLARIZE_THRESHOLD } from './solarize';
export { normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize';
export type { PerSample, SampleMask } from './images';
