/** Horizontal flip of selected samples (torchvision `F.hflip`, RandomHorizontalFlip). */
import * as tf from '@tensorflow/tfjs-core';
import { all, any, checkImages, maskValues, selectSamples, type SampleMask } from './images';

/**
 * Mirrors the width axis of the samples selected by `mask` (all when omitted).
 *
 * ```ts
 * const out = hflip(images, [true, false]); // flips sample 0 only
 * ```
 */
export function hflip(images: tf.Tensor4D, mask?: SampleMask): tf.Tensor4D {
  const { batch } = checkImages(images);
  const m = maskValues('mask', mask, batch);
  return tf.tidy(() => {
    if (!any(m)) return tf.clone(images);
    const flipped = tf.reverse(images, 2);
    return all(m) ? flipped : selectSamples(m, flipped, images);
  });
}
