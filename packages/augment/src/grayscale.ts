/** Luma and grayscale conversion (torchvision `F.rgb_to_grayscale`, RandomGrayscale). */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@dino-ts/core';
import { all, any, checkImages, maskValues, selectSamples, type SampleMask } from './images';

/** ITU-R 601-2 luma weights, as torchvision (and PIL's "L" conversion). */
export const LUMA_WEIGHTS: readonly [number, number, number] = [0.2989, 0.587, 0.114];

/** Luma of an RGB batch [B, H, W, 3] -> [B, H, W, 1]; a 1-channel batch is its own luma. */
export function luma(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = images.shape;
    if (c === 1) return tf.clone(images);
    const y = tf.matMul(tf.reshape(images, [b * h * w, 3]), tf.tensor2d([...LUMA_WEIGHTS], [3, 1]));
    return tf.reshape(y, [b, h, w, 1]);
  });
}

/**
 * Grayscale of an RGB batch with `numOutputChannels` 1 or 3 (the luma repeated). As torchvision, a
 * 1-channel input is returned unchanged (1 channel) whatever `numOutputChannels` says.
 *
 * ```ts
 * const gray = rgbToGrayscale(images, 3); // [B, H, W, 3], r = g = b = luma
 * ```
 */
export function rgbToGrayscale(images: tf.Tensor4D, numOutputChannels: 1 | 3 = 1): tf.Tensor4D {
  const { channels } = checkImages(images);
  if (numOutputChannels !== 1 && numOutputChannels !== 3) {
    throw new ConfigError('numOutputChannels', numOutputChannels, 'must be 1 or 3');
  }
  return tf.tidy(() => {
    const y = luma(images);
    // Broadcasting multiply rather than tile: exact, and tile is slow on wasm.
    return channels === 3 && numOutputChannels === 3 ? (tf.mul(y, tf.ones([3])) as tf.Tensor4D) : y;
  });
}

/**
 * Replaces the samples selected by `mask` with their grayscale, keeping the channel count (the
 * reference's RandomGrayscale). A 1-channel batch is returned unchanged.
 */
export function grayscaleSamples(images: tf.Tensor4D, mask?: SampleMask): tf.Tensor4D {
  const { batch, channels } = checkImages(images);
  const m = maskValues('mask', mask, batch);
  return tf.tidy(() => {
    if (channels === 1 || !any(m)) return tf.clone(images);
    const y = luma(images);
    return all(m) ? (tf.mul(y, tf.ones([3])) as tf.Tensor4D) : selectSamples(m, y, images);
  });
}
