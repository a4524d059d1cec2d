/**
 * The multi-crop configuration: DINO's DataAugmentationDINO (main_dino.py) with every probability
 * and range exposed, its defaults written once in DINO_AUGMENT_DEFAULTS.
 */
import { checkChoice, checkInt, checkNumber, ConfigError } from '@dino-ts/core';
import { INTERPOLATIONS, type Interpolation } from './interpolation';
import { checkJitterStrength, checkRatio, checkScale, RESIZED_CROP_RATIO, type JitterStrength } from './sampling';
import { IMAGENET_MEAN, IMAGENET_STD, checkMeanStd } from './normalize';
import { SOLARIZE_THRESHOLD } from './solarize';
import { MULTICROP_SETTINGS as M, PHOTOMETRIC_SETTINGS as P } from './multi-crop-settings';

export interface JitterConfig extends JitterStrength {
  /** Probability that ColorJitter is applied (RandomApply). */
  p: number;
}

export interface BlurConfig {
  /** Probability of the blur on the first global crop (reference 1.0). */
  global1P: number;
  /** Probability on the second global crop (reference 0.1). */
  global2P: number;
  /** Probability on each local crop (reference 0.5). */
  localP: number;
  /**
   * Sigma range in pixels of the output crop. The reference draws PIL radius in [0.1, 2.0] for
   * both the 224 px global and the 96 px local crops; `dinoAugmentConfigForImageSize` scales it
   * with the image size.
   */
  sigma: [number, number];
  /** Odd kernel size, or 'auto': 2·ceil(3·sigma max) + 1, capped below each crop size. */
  kernelSize: number | 'auto';
}

export interface DinoAugmentConfig {
  globalCropsSize: number;
  localCropsSize: number;
  localCropsNumber: number;
  globalCropsScale: [number, number];
  localCropsScale: [number, number];
  /** Aspect-ratio range of RandomResizedCrop (torchvision default 3/4 to 4/3). */
  ratio: [number, number];
  flipP: number;
  jitter: JitterConfig;
  grayscaleP: number;
  blur: BlurConfig;
  /** Probability of solarization, on the second global crop only (reference 0.2). */
  solarizeP: number;
  solarizeThreshold: number;
  /** Normalisation per channel (1 entry, or 1 per channel of the images). */
  mean: number[];
  std: number[];
  interpolation: Interpolation;
}

/** Any subset of the configuration; nested groups may be partial too. */
export type DinoAugmentOptions = Partial<Omit<DinoAugmentConfig, 'jitter' | 'blur'>> & {
  jitter?: Partial<JitterConfig>;
  blur?: Partial<BlurConfig>;
};

/** The reference's values (main_dino.py DataAugmentationDINO and its argument defaults). */
export const DINO_AUGMENT_DEFAULTS: Readonly<DinoAugmentConfig> = Object.freeze({
  globalCropsSize: 224,
  localCropsSize: 96,
  // The settings an app exposes take their defaults from their one declaration.
  localCropsNumber: M.localCropsNumber.default,
  globalCropsScale: [...M.globalCropsScale.default],
  localCropsScale: [...M.localCropsScale.default],
  ratio: [RESIZED_CROP_RATIO[0], RESIZED_CROP_RATIO[1]],
  flipP: 0.5,
  jitter: { brightness: P.jitterBrightness.default, contrast: P.jitterContrast.default, saturation: P.jitterSaturation.default, hue: P.jitterHue.default, p: P.jitterP.default },
  grayscaleP: P.grayscaleP.default,
  blur: { global1P: 1.0, global2P: 0.1, localP: 0.5, sigma: [0.1, 2.0], kernelSize: 'auto' },
  solarizeP: 0.2,
  solarizeThreshold: SOLARIZE_THRESHOLD,
  mean: [...IMAGENET_MEAN],
  std: [...IMAGENET_STD],
  interpolation: 'bicubic',
} satisfies DinoAugmentConfig);

/** The global crop size the reference's blur sigma range refers to. */
export const REFERENCE_GLOBAL_SIZE = 224;

function checkProbability(param: string, p: number): void {
  checkNumber(param, p, { min: 0, max: 1 });
}

/** Merges `options` over the defaults and validates every value (ConfigError naming the field). */
export function resolveDinoAugmentConfig(options: DinoAugmentOptions = {}): DinoAugmentConfig {
  const d = DINO_AUGMENT_DEFAULTS;
  const c: DinoAugmentConfig = {
    ...d,
    ...options,
    jitter: { ...d.jitter, ...options.jitter },
    blur: { ...d.blur, ...options.blur },
  };
  checkInt('globalCropsSize', c.globalCropsSize, 1);
  checkInt('localCropsSize', c.localCropsSize, 1);
  checkInt('localCropsNumber', c.localCropsNumber, 0);
  checkScale('globalCropsScale', c.globalCropsScale);
  checkScale('localCropsScale', c.localCropsScale);
  checkRatio('ratio', c.ratio);
  checkProbability('flipP', c.flipP);
  checkJitterStrength('jitter', c.jitter);
  checkProbability('jitter.p', c.jitter.p);
  checkProbability('grayscaleP', c.grayscaleP);
  checkProbability('blur.global1P', c.blur.global1P);
  checkProbability('blur.global2P', c.blur.global2P);
  checkProbability('blur.localP', c.blur.localP);
  const [sLo, sHi] = c.blur.sigma;
  if (!(c.blur.sigma.length === 2 && sLo > 0 && sLo <= sHi && Number.isFinite(sHi))) {
    throw new ConfigError('blur.sigma', c.blur.sigma, 'must be [lo, hi] with 0 < lo <= hi');
  }
  if (c.blur.kernelSize !== 'auto') {
    checkInt('blur.kernelSize', c.blur.kernelSize, 1);
    if (c.blur.kernelSize % 2 !== 1) throw new ConfigError('blur.kernelSize', c.blur.kernelSize, "must be odd or 'auto'");
  }
  checkProbability('solarizeP', c.solarizeP);
  checkProbability('solarizeThreshold', c.solarizeThreshold);
  checkMeanStd(c.mean, c.std);
  checkChoice('interpolation', c.interpolation, INTERPOLATIONS);
  return c;
}

/**
 * The reference configuration scaled to `imageSize` px images (small data sets): global crops of
 * the image size, local crops of 96/224 of it rounded up to a multiple of `patchSize` (so a ViT
 * can take them), the blur sigma range times imageSize / 224. Fashion-MNIST (28 px, patch 4):
 * global 28, local 12; CIFAR (32 px): global 32, local 16; 224 px: 224 and 96.
 *
 * ```ts
 * const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(28, { mean: [0.286], std: [0.353] }));
 * ```
 */
export function dinoAugmentConfigForImageSize(
  imageSize: number,
  options: DinoAugmentOptions & { patchSize?: number } = {},
): DinoAugmentConfig {
  checkInt('imageSize', imageSize, 1);
  const { patchSize = 4, ...overrides } = options;
  checkInt('patchSize', patchSize, 1);
  const d = DINO_AUGMENT_DEFAULTS;
  const local = (imageSize * d.localCropsSize) / d.globalCropsSize;
  const k = imageSize / REFERENCE_GLOBAL_SIZE;
  return resolveDinoAugmentConfig({
    globalCropsSize: imageSize,
    localCropsSize: Math.max(patchSize, Math.ceil(local / patchSize - 1e-9) * patchSize),
    ...overrides,
    blur: { sigma: [d.blur.sigma[0] * k, d.blur.sigma[1] * k], ...overrides.blur },
  });
}
