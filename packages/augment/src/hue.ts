/**
 * Hue rotation with one shift per sample: torchvision 0.14 `F.adjust_hue` on float tensors, which
 * goes RGB -> HSV (Pillow's formulas), adds the shift to H modulo 1, and goes back.
 *
 * The way back is written in closed form: with v = max, m = min, chroma = v − m and hue h, channel
 * c is v − chroma · clamp(min(k, 4 − k), 0, 1), k = (n_c + 6h) mod 6, n = (5, 3, 1). It equals
 * torchvision's six-sector table (v, q, p, t with p = m, q = v − chroma·f, t = m + chroma·f) in
 * fewer element-wise passes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkImages, perSampleTensor, perSampleValues, type PerSample } from './images';

/** Columns (g − b, b − r, r − g): the hue numerators when r, g, b (respectively) is the max. */
const HUE_DIFFS = [0, -1, 1, 1, 0, -1, -1, 1, 0];
/** Sector offsets added for max = r, g, b. */
const HUE_OFFSETS = [0, 2, 4];
/** Phase of each output channel in the closed-form HSV -> RGB. */
const CHANNEL_PHASE = [5, 3, 1];

/** Hue in [0, 1) of an RGB batch [B, H, W, 3], with value and chroma: each [B, H, W, 1]. */
export function rgbToHueValueChroma(images: tf.Tensor4D): { hue: tf.Tensor4D; value: tf.Tensor4D; chroma: tf.Tensor4D } {
  return tf.tidy(() => {
    const [b, h, w] = images.shape;
    const value = tf.max(images, -1, true) as tf.Tensor4D;
    const chroma = tf.sub(value, tf.min(images, -1, true)) as tf.Tensor4D;
    // Gray pixels (chroma 0) get divisor 1; their hue is irrelevant (saturation 0), as torchvision.
    const divisor = tf.where(tf.equal(chroma, 0), tf.onesLike(chroma), chroma);
    const diffs = tf.reshape(
      tf.matMul(tf.reshape(images, [b * h * w, 3]), tf.tensor2d(HUE_DIFFS, [3, 3])),
      [b, h, w, 3],
    );
    // Which channel holds the max; on ties every choice gives the same hue.
    const isMax = tf.cast(tf.oneHot(tf.argMax(images, -1), 3), 'float32');
    const sector = tf.sum(tf.mul(isMax, tf.add(tf.div(diffs, divisor), tf.tensor1d(HUE_OFFSETS))), -1, true);
    const hue = tf.mod(tf.add(tf.div(sector, 6), 1), 1) as tf.Tensor4D;
    return { hue, value, chroma };
  });
}

/** RGB from hue [B, H, W, 1] (in [0, 1)), value and chroma: [B, H, W, 3]. */
export function hueValueChromaToRgb(hue: tf.Tensor4D, value: tf.Tensor4D, chroma: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const k = tf.mod(tf.add(tf.mul(hue, 6), tf.tensor1d(CHANNEL_PHASE)), 6);
    const ramp = tf.clipByValue(tf.minimum(k, tf.sub(4, k)), 0, 1);
    return tf.sub(value, tf.mul(chroma, ramp)) as tf.Tensor4D;
  });
}

/** Hue rotation with shifts already on the device as [B, 1, 1, 1] (no checks). */
export function rotateHue(images: tf.Tensor4D, shifts: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const { hue, value, chroma } = rgbToHueValueChroma(images);
    return hueValueChromaToRgb(tf.mod(tf.add(hue, shifts), 1) as tf.Tensor4D, value, chroma);
  });
}

/**
 * Shifts the hue of each sample by its factor in [−0.5, 0.5] (`F.adjust_hue`). A 1-channel image
 * is returned unchanged, as torchvision.
 *
 * ```ts
 * const out = adjustHue(images, [-0.1, 0.1]);
 * ```
 */
export function adjustHue(images: tf.Tensor4D, factors: PerSample): tf.Tensor4D {
  const { batch, channels } = checkImages(images);
  const f = perSampleValues('hue factors', factors, batch, (v) => v >= -0.5 && v <= 0.5, 'in [-0.5, 0.5]');
  return tf.tidy(() => (channels === 1 ? tf.clone(images) : rotateHue(images, perSampleTensor(f))));
}
