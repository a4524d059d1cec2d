/**
 * Input checks and per-sample parameter handling shared by every op. Images are NHWC float32
 * tensors [B, H, W, C] with values in [0, 1] and C = 1 or 3, the layout tfjs uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@dino-ts/core';

/** A per-sample parameter: one number for the whole batch, one per sample, or a [B] tensor. */
export type PerSample = number | ArrayLike<number> | tf.Tensor1D;

/** A per-sample on/off switch: omitted means every sample. */
export type SampleMask = ArrayLike<boolean | number>;

export interface ImageDims {
  batch: number;
  height: number;
  width: number;
  channels: number;
}

/** Checks rank 4, float32 and C in {1, 3}; returns the dimensions. */
export function checkImages(images: tf.Tensor, param = 'images'): ImageDims {
  if (images.rank !== 4) {
    throw new ShapeError(`${param} must be NHWC [B, H, W, C]; got rank ${images.rank} shape [${images.shape}]`);
  }
  if (images.dtype !== 'float32') {
    throw new ShapeError(`${param} must be float32 in [0, 1]; got dtype ${images.dtype}`);
  }
  const [batch, height, width, channels] = images.shape as [number, number, number, number];
  if (channels !== 1 && channels !== 3) {
    throw new ConfigError(`${param} channels`, channels, 'must be 1 (grayscale) or 3 (RGB)');
  }
  return { batch, height, width, channels };
}

/** Host copy of a per-sample parameter, length `batch`; checks the length and each value. */
export function perSampleValues(
  param: string,
  values: PerSample,
  batch: number,
  check?: (v: number) => boolean,
  allowed = 'a finite number',
): Float32Array {
  let out: Float32Array;
  if (typeof values === 'number') {
    out = new Float32Array(batch).fill(values);
  } else if (values instanceof tf.Tensor) {
    if (values.rank !== 1 || values.shape[0] !== batch) {
      throw new ShapeError(`${param} must have shape [${batch}] (one per sample); got [${values.shape}]`);
    }
    out = Float32Array.from(values.dataSync());
  } else {
    if (values.length !== batch) {
      throw new ShapeError(`${param} must have ${batch} entries (one per sample); got ${values.length}`);
    }
    out = Float32Array.from(values);
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]) || (check && !check(out[i]))) {
      throw new ConfigError(`${param}[${i}]`, out[i], `must be ${allowed}`);
    }
  }
  return out;
}

/** A per-sample mask as 0/1 bytes, length `batch` (every sample when omitted). */
export function maskValues(param: string, mask: SampleMask | undefined, batch: number): Uint8Array {
  const out = new Uint8Array(batch);
  if (mask === undefined) return out.fill(1);
  if (mask.length !== batch) {
    throw new ShapeError(`${param} must have ${batch} entries (one per sample); got ${mask.length}`);
  }
  for (let i = 0; i < batch; i++) out[i] = mask[i] ? 1 : 0;
  return out;
}

/** A [B, 1, 1, 1] tensor that broadcasts a per-sample value over an image batch. */
export function perSampleTensor(values: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

/**
 * Per sample, `a` where the mask is set and `b` elsewhere, as m·a + (1 − m)·b with m in {0, 1}
 * (exact for finite values). tf.where would broadcast the [B, 1, 1, 1] mask with a Tile, which
 * is slow on the wasm and cpu backends.
 */
export function selectSamples(mask: Uint8Array, a: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const m = perSampleTensor(mask);
    return tf.add(tf.mul(m, a), tf.mul(tf.sub(1, m), b)) as tf.Tensor4D;
  });
}

/** True when every entry is set. */
export function all(mask: Uint8Array): boolean {
  return mask.every((m) => m !== 0);
}

/** True when at least one entry is set. */
export function any(mask: Uint8Array): boolean {
  return mask.some((m) => m !== 0);
}
