/**
 * The augmentation's settings an application exposes, each declared once (reference
 * main_dino.py arguments and DataAugmentationDINO's photometric strengths). The trainer reads
 * `localCropsNumber` from the same multi-crop object the augmentation is built from, so the two
 * cannot disagree.
 */
import { setting, type SettingsInput, type SettingsOf } from '@dino-ts/core';
import type { DinoAugmentOptions } from './dino-augment-config';

const scale = { min: 0, max: 1, minExclusive: true } as const;

/** Multi-crop: how many crops, of which sizes, from which share of the image. */
export const MULTICROP_SETTINGS = {
  globalCropsScale: setting.pair([0.4, 1], 'area range of the global crops', scale),
  localCropsNumber: setting.int(8, 'number of local crops', { min: 0 }),
  localCropsScale: setting.pair([0.05, 0.4], 'area range of the local crops', scale),
  globalCropsSize: setting.int(undefined, 'global crop size in pixels (default: the image size)', { min: 1 }),
  localCropsSize: setting.int(undefined, 'local crop size in pixels (default: 96/224 of the image size)', { min: 1 }),
} as const;

/** The photometric augmentation's strengths and probabilities. */
export const PHOTOMETRIC_SETTINGS = {
  jitterBrightness: setting.number(0.4, 'colour jitter: brightness strength', { min: 0 }),
  jitterContrast: setting.number(0.4, 'colour jitter: contrast strength', { min: 0 }),
  jitterSaturation: setting.number(0.2, 'colour jitter: saturation strength', { min: 0 }),
  jitterHue: setting.number(0.1, 'colour jitter: hue shift range (±)', { min: 0, max: 0.5 }),
  jitterP: setting.number(0.8, 'probability of the colour jitter', { min: 0, max: 1 }),
  grayscaleP: setting.number(0.2, 'probability of grayscale', { min: 0, max: 1 }),
} as const;

export type MultiCropSettings = SettingsOf<typeof MULTICROP_SETTINGS>;
export type PhotometricSettings = SettingsOf<typeof PHOTOMETRIC_SETTINGS>;

/**
 * The augmentation options for these settings (for `dinoAugmentConfigForImageSize`): the
 * settings' flat names mapped onto the configuration's groups.
 */
export function augmentOptionsFromSettings(
  multicrop: SettingsInput<typeof MULTICROP_SETTINGS>,
  photometric: SettingsInput<typeof PHOTOMETRIC_SETTINGS> = {},
): DinoAugmentOptions {
  const { globalCropsSize, localCropsSize, ...crops } = multicrop;
  const p = photometric;
  const jitter = { brightness: p.jitterBrightness, contrast: p.jitterContrast, saturation: p.jitterSaturation, hue: p.jitterHue, p: p.jitterP };
  const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return defined({
    ...crops,
    globalCropsScale: crops.globalCropsScale && [...crops.globalCropsScale],
    localCropsScale: crops.localCropsScale && [...crops.localCropsScale],
    globalCropsSize,
    localCropsSize,
    jitter: defined(jitter),
    grayscaleP: p.grayscaleP,
  }) as DinoAugmentOptions;
}
