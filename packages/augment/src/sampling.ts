/**
 * Random parameters drawn from the seeded Rng of @dino-ts/core, following torchvision 0.14's
 * `get_params` algorithms (the generator differs, the distributions are the same).
 */
import { checkInt, checkNumber, ConfigError, type Rng } from '@dino-ts/core';
import type { CropBox } from './resized-crop';

/** Python 3's round(): halves go to the even neighbour (get_params rounds crop sides with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's RandomResizedCrop defaults. */
export const RESIZED_CROP_SCALE: readonly [number, number] = [0.08, 1];
export const RESIZED_CROP_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/** Throws a ConfigError unless 0 < lo <= hi <= 1. */
export function checkScale(param: string, scale: readonly [number, number]): void {
  const [lo, hi] = scale;
  if (!(scale.length === 2 && lo > 0 && lo <= hi && hi <= 1)) {
    throw new ConfigError(param, scale, 'must be [lo, hi] with 0 < lo <= hi <= 1 (fractions of the image area)');
  }
}

/** Throws a ConfigError unless 0 < lo <= hi (finite). */
export function checkRatio(param: string, ratio: readonly [number, number]): void {
  const [lo, hi] = ratio;
  if (!(ratio.length === 2 && lo > 0 && lo <= hi && Number.isFinite(hi))) {
    throw new ConfigError(param, ratio, 'must be [lo, hi] with 0 < lo <= hi (width / height)');
  }
}

/**
 * A random crop box for RandomResizedCrop, as torchvision's `RandomResizedCrop.get_params`: up to
 * 10 tries of an area fraction uniform in `scale` and an aspect ratio (w / h) log-uniform in
 * `ratio`, sides rounded half to even, kept if the box fits and placed uniformly; otherwise the
 * central crop with the aspect ratio clamped into `ratio`.
 *
 * Unlike torchvision, `scale` must lie in (0, 1]: a crop larger than the image never fits.
 *
 * ```ts
 * const box = sampleResizedCropBox(new Rng(0), 224, 224, [0.4, 1]);
 * ```
 */
export function sampleResizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  scale: readonly [number, number] = RESIZED_CROP_SCALE,
  ratio: readonly [number, number] = RESIZED_CROP_RATIO,
): CropBox {
  checkInt('height', height, 1);
  checkInt('width', width, 1);
  checkScale('scale', scale);
  checkRatio('ratio', ratio);
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  return centerCropFallback(height, width, ratio);
}

/** get_params' fallback: the central crop, its aspect ratio clamped into `ratio`. */
export function centerCropFallback(height: number, width: number, ratio: readonly [number, number]): CropBox {
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) {
    h = roundHalfEven(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    w = roundHalfEven(h * Math.max(...ratio));
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** ColorJitter strengths: factors are drawn in [max(0, 1 − s), 1 + s], the hue shift in [−hue, hue]. */
export interface JitterStrength {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** One sample's ColorJitter draw: the order of the four ops (0 brightness, 1 contrast, 2 saturation, 3 hue) and their factors. */
export interface ColorJitterParams {
  order: [number, number, number, number];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** Index of each op in `ColorJitterParams.order`. */
export const JITTER_OPS = ['brightness', 'contrast', 'saturation', 'hue'] as const;

/** Throws a ConfigError unless the strengths are valid (>= 0, hue <= 0.5). */
export function checkJitterStrength(param: string, s: JitterStrength): void {
  checkNumber(`${param}.brightness`, s.brightness, { min: 0 });
  checkNumber(`${param}.contrast`, s.contrast, { min: 0 });
  checkNumber(`${param}.saturation`, s.saturation, { min: 0 });
  checkNumber(`${param}.hue`, s.hue, { min: 0, max: 0.5 });
}

/**
 * ColorJitter's `get_params`: a random permutation of the four ops, then each factor uniform in
 * its range (a strength of 0 gives the identity factor).
 */
export function sampleColorJitter(rng: Rng, strength: JitterStrength): ColorJitterParams {
  const p = rng.permutation(4);
  const factor = (s: number) => rng.uniform(Math.max(0, 1 - s), 1 + s);
  const brightness = factor(strength.brightness);
  const contrast = factor(strength.contrast);
  const saturation = factor(strength.saturation);
  const hue = rng.uniform(-strength.hue, strength.hue);
  return { order: [p[0], p[1], p[2], p[3]], brightness, contrast, saturation, hue };
}
