/** Per-channel normalisation (torchvision `F.normalize`). */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@dino-ts/core';
import { checkImages } from './images';

/** ImageNet statistics, the reference's normalisation. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** Checks mean/std against a channel count: 1 entry (every channel) or one per channel; std > 0. */
export function checkMeanStd(mean: readonly number[], std: readonly number[], channels?: number): void {
  for (const [param, v] of [['mean', mean], ['std', std]] as const) {
    const ok = v.length === 1 || (channels === undefined ? v.length === 3 : v.length === channels);
    if (!ok) {
      throw new ConfigError(param, v, `must have 1 entry or one per channel (${channels ?? '1 or 3'})`);
    }
    if (!v.every(Number.isFinite)) throw new ConfigError(param, v, 'must hold finite numbers');
  }
  if (!std.every((s) => s > 0)) throw new ConfigError('std', std, 'must hold numbers > 0');
}

/**
 * (x − mean[c]) / std[c] per channel.
 *
 * ```ts
 * const out = normalize(images, IMAGENET_MEAN, IMAGENET_STD);
 * ```
 */
export function normalize(images: tf.Tensor4D, mean: readonly number[], std: readonly number[]): tf.Tensor4D {
  const { channels } = checkImages(images);
  checkMeanStd(mean, std, channels);
  return tf.tidy(() => tf.div(tf.sub(images, tf.tensor1d(mean as number[])), tf.tensor1d(std as number[])) as tf.Tensor4D);
}
