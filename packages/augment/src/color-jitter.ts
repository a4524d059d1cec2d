/**
 * ColorJitter with its own random order per sample, for the whole batch at once.
 *
 * torchvision applies the four ops one after another in a random order. Here the batch goes
 * through four steps; at step k each sample applies its k-th op. Brightness, contrast and
 * saturation are all blends clamp(f·x + (1 − f)·other), so one blend per step serves every
 * sample (other = 0, the mean luma or the luma image, chosen per sample; factor 1 for samples
 * doing something else, which leaves them exactly unchanged). The hue rotation runs once per step
 * if any sample needs it there, and is kept only for those samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { checkImages, perSampleTensor, selectSamples } from './images';
import { blend } from './adjust';
import { luma } from './grayscale';
import { rotateHue } from './hue';
import type { ColorJitterParams } from './sampling';

function checkJitterParams(param: string, p: ColorJitterParams): void {
  const sorted = [...p.order].sort();
  if (p.order.length !== 4 || sorted.some((v, i) => v !== i)) {
    throw new ConfigError(`${param}.order`, p.order, 'must be a permutation of 0, 1, 2, 3');
  }
  for (const key of ['brightness', 'contrast', 'saturation'] as const) {
    if (!(p[key] >= 0 && Number.isFinite(p[key]))) throw new ConfigError(`${param}.${key}`, p[key], 'must be >= 0');
  }
  if (!(p.hue >= -0.5 && p.hue <= 0.5)) throw new ConfigError(`${param}.hue`, p.hue, 'must be in [-0.5, 0.5]');
}

/**
 * Applies each sample's ColorJitter draw (`null`: not jittered, the RandomApply that skipped it)
 * in the sample's own order, as torchvision's ColorJitter.forward. Inputs must be in [0, 1]. On
 * 1-channel images saturation and hue are the identity (as torchvision), brightness and contrast
 * apply.
 *
 * ```ts
 * const rng = new Rng(0);
 * const params = [sampleColorJitter(rng, { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 }), null];
 * const out = colorJitter(images, params);
 * ```
 */
export function colorJitter(images: tf.Tensor4D, params: ReadonlyArray<ColorJitterParams | null>): tf.Tensor4D {
  const { batch, channels } = checkImages(images);
  if (params.length !== batch) {
    throw new ShapeError(`params must have ${batch} entries (one per sample); got ${params.length}`);
  }
  params.forEach((p, b) => p && checkJitterParams(`params[${b}]`, p));
  return tf.tidy(() => {
    let x = images;
    for (let step = 0; step < 4; step++) {
      const factor = new Float32Array(batch).fill(1);
      const toMean = new Float32Array(batch);
      const toLuma = new Float32Array(batch);
      const hueMask = new Uint8Array(batch);
      const hueShift = new Float32Array(batch);
      params.forEach((p, b) => {
        if (!p) return;
        const op = p.order[step];
        if (op === 0) {
          factor[b] = p.brightness;
        } else if (op === 1) {
          factor[b] = p.contrast;
          toMean[b] = 1;
        } else if (channels === 3 && op === 2) {
          factor[b] = p.saturation;
          toLuma[b] = 1;
        } else if (channels === 3 && op === 3) {
          hueMask[b] = 1;
          hueShift[b] = p.hue;
        }
      });
      if (factor.some((f) => f !== 1)) {
        let other: tf.Tensor | null = null;
        if (toMean.some((v) => v) || toLuma.some((v) => v)) {
          const y = luma(x);
          const mean = tf.mean(y, [1, 2, 3], true);
          other = tf.add(tf.mul(perSampleTensor(toMean), mean), tf.mul(perSampleTensor(toLuma), y));
        }
        x = blend(x, perSampleTensor(factor), other);
      }
      if (hueMask.some((v) => v)) {
        const rotated = rotateHue(x, perSampleTensor(hueShift));
        x = hueMask.every((v) => v) ? rotated : selectSamples(hueMask, rotated, x);
      }
    }
    return x === images ? tf.clone(images) : x;
  });
}
