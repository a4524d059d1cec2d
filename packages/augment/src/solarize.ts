/** Solarization (torchvision `F.solarize`; the reference's utils.Solarization via PIL). */
import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dino-ts/core';
import { all, any, checkImages, maskValues, selectSamples, type SampleMask } from './images';

/** PIL's ImageOps.solarize threshold 128 of 255, on [0, 1] images. */
export const SOLARIZE_THRESHOLD = 128 / 255;

/**
 * Inverts (1 − x) every value >= `threshold` in the samples selected by `mask` (all when
 * omitted).
 *
 * ```ts
 * const out = solarize(images); // threshold 128/255, as the reference
 * ```
 */
export function solarize(images: tf.Tensor4D, threshold = SOLARIZE_THRESHOLD, mask?: SampleMask): tf.Tensor4D {
  const { batch } = checkImages(images);
  checkNumber('threshold', threshold, { min: 0, max: 1 });
  const m = maskValues('mask', mask, batch);
  return tf.tidy(() => {
    if (!any(m)) return tf.clone(images);
    // A scalar comparison, then a per-sample select: comparisons that broadcast a [B, 1, 1, 1]
    // operand are slow on wasm.
    const solarized = tf.where(tf.greaterEqual(images, threshold), tf.sub(1, images), images);
    return all(m) ? (solarized as tf.Tensor4D) : selectSamples(m, solarized, images);
  });
}
