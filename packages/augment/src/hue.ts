/**
 * Hue rotation with one shift per sample: torchvision 0.14 `F.adjust_hue` on float tensors, which
 * goes RGB -> HSV (Pillow's formulas), adds the shift to H modulo 1, and goes back.
 *
 * Written in closed form, with fewer and cheaper element-wise passes than the six-sector table:
 * with v = max, chroma = v − min and the hue in sixths h6 (torchvision's sector formula, before
 * its `fmod`), channel c of the result is v − chroma · clamp(2 − |k − 2|, 0, 1) with
 * k = (n_c + h6 + 6 · shift) mod 6 and n = (5, 3, 1). This is torchvision's table
 * (v, q, p, t with p = min, q = v − chroma·f, t = min + chroma·f) read off a periodic ramp, so the
 * two modulo-1 steps fold into one modulo 6.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkImages, perSampleTensor, perSampleValues, type PerSample } from './images';

/** Columns (g − b, b − r, r − g): the hue numerators when r, g, b (respectively) is the max. */
const HUE_DIFFS = [0, -1, 1, 1, 0, -1, -1, 1, 0];
/** Sector offsets added for max = r, g, b. */
const HUE_OFFSETS = [0, 2, 4];
/** Phase of each output channel in the closed-form HSV -> RGB. */
const CHANNEL_PHASE = [5, 3, 1];

/**
 * Hue in sixths (in [−1, 5], torchvision's h·6 before wrapping), value and chroma of an RGB batch
 * [B, H, W, 3]: each [B, H, W, 1].
 */
export function rgbToHueValueChroma(images: tf.Tensor4D): { hue6: tf.Tensor4D; value: tf.Tensor4D; chroma: tf.Tensor4D } {
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
    // Which channel holds the max; on ties every choice gives the same hue modulo 6.
    const isMax = tf.cast(tf.oneHot(tf.argMax(images, -1), 3), 'float32');
    const hue6 = tf.sum(tf.mul(isMax, tf.add(tf.div(diffs, divisor), tf.tensor1d(HUE_OFFSETS))), -1, true);
    return { hue6: hue6 as tf.Tensor4D, value, chroma };
  });
}

/** RGB [B, H, W, 3] from hue in sixths (any real: it wraps), value and chroma ([B, H, W, 1] each). */
export function hueValueChromaToRgb(hue6: tf.Tensor4D, value: tf.Tensor4D, chroma: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const phased = tf.add(hue6, tf.tensor1d(CHANNEL_PHASE));
    // x mod 6 as x − 6·floor(x / 6): several times cheaper than tf.mod on wasm; where rounding
    // lands on the other side of a multiple of 6, the ramp below has the same value there.
    const k = tf.sub(phased, tf.mul(tf.floor(tf.div(phased, 6)), 6));
    const ramp = tf.clipByValue(tf.sub(2, tf.abs(tf.sub(k, 2))), 0, 1);
    return tf.sub(value, tf.mul(chroma, ramp)) as tf.Tensor4D;
  });
}

/** Hue rotation with shifts (fractions of a turn) already on the device as [B, 1, 1, 1] (no checks). */
export function rotateHue(images: tf.Tensor4D, shifts: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const { hue6, value, chroma } = rgbToHueValueChroma(images);
    return hueValueChromaToRgb(tf.add(hue6, tf.mul(shifts, 6)) as tf.Tensor4D, value, chroma);
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
