/**
 * Brightness, contrast and saturation with one factor per sample: torchvision 0.14's tensor ops,
 * each a blend clamp(f · x + (1 − f) · other, 0, 1) with a different `other` (black, the mean
 * luma of the image, the luma image).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkImages, perSampleTensor, perSampleValues, type PerSample } from './images';
import { luma } from './grayscale';

const nonNegative = (v: number) => v >= 0;

/** clamp(f · x + (1 − f) · other, 0, 1), f broadcast per sample (torchvision's `_blend`). */
export function blend(images: tf.Tensor4D, factors: tf.Tensor, other: tf.Tensor | null): tf.Tensor4D {
  return tf.tidy(() => {
    const scaled = tf.mul(factors, images);
    const mixed = other === null ? scaled : tf.add(scaled, tf.mul(tf.sub(1, factors), other));
    return tf.clipByValue(mixed, 0, 1) as tf.Tensor4D;
  });
}

/** The per-sample mean luma [B, 1, 1, 1] that contrast blends towards. */
export function meanLuma(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.mean(luma(images), [1, 2, 3], true) as tf.Tensor4D);
}

/**
 * Multiplies each sample by its factor (>= 0) and clamps to [0, 1] (`F.adjust_brightness`).
 *
 * ```ts
 * const out = adjustBrightness(images, [0.6, 1.4]);
 * ```
 */
export function adjustBrightness(images: tf.Tensor4D, factors: PerSample): tf.Tensor4D {
  const { batch } = checkImages(images);
  const f = perSampleValues('brightness factors', factors, batch, nonNegative, 'a number >= 0');
  return tf.tidy(() => blend(images, perSampleTensor(f), null));
}

/**
 * Blends each sample with the mean of its luma (`F.adjust_contrast`; factor 0 gives a flat gray
 * image, 1 the input). A 1-channel image blends with its own mean.
 */
export function adjustContrast(images: tf.Tensor4D, factors: PerSample): tf.Tensor4D {
  const { batch } = checkImages(images);
  const f = perSampleValues('contrast factors', factors, batch, nonNegative, 'a number >= 0');
  return tf.tidy(() => blend(images, perSampleTensor(f), meanLuma(images)));
}

/**
 * Blends each sample with its luma image (`F.adjust_saturation`; factor 0 gives grayscale). A
 * 1-channel image is returned unchanged, as torchvision (matching PIL).
 */
export function adjustSaturation(images: tf.Tensor4D, factors: PerSample): tf.Tensor4D {
  const { batch, channels } = checkImages(images);
  const f = perSampleValues('saturation factors', factors, batch, nonNegative, 'a number >= 0');
  return tf.tidy(() => (channels === 1 ? tf.clone(images) : blend(images, perSampleTensor(f), luma(images))));
}
