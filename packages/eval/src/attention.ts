/**
 * Self-attention maps of the last block (visualize_attention.py): the CLS query's attention to
 * every patch, per head, on the patch grid; the mass-threshold mask (keep the smallest set of
 * patches holding `threshold` of the attention); nearest upsampling to pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, checkInt, checkNumber } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';

export interface AttentionMaps {
  /** CLS-to-patch attention of the last block, per head: [B, heads, h, w]. */
  perHead: tf.Tensor4D;
  /** The mean over heads: [B, h, w]. */
  mean: tf.Tensor3D;
}

/** Whether the backbone has self-attention maps to read (ViTs; not convnets). */
export function hasSelfAttention(backbone: Backbone): boolean {
  return backbone.hasSelfAttention !== false;
}

/** Patch grid [rows, cols] of an image of height x width (the reference crops to a multiple). */
export function patchGrid(backbone: Backbone, height: number, width: number): [number, number] {
  return [Math.floor(height / backbone.patchSize), Math.floor(width / backbone.patchSize)];
}

/**
 * @example
 * const { perHead, mean } = attentionMaps(vit, images); // [B, 6, 14, 14], [B, 14, 14]
 */
export function attentionMaps(backbone: Backbone, images: tf.Tensor4D): AttentionMaps {
  if (!hasSelfAttention(backbone)) {
    throw new ConfigError('backbone', backbone.name, 'has no self-attention: attention maps and their masks need a ViT backbone (k-NN, the linear probe and label propagation work with any backbone)');
  }
  const [b, H, W] = images.shape;
  const [h, w] = patchGrid(backbone, H, W);
  return tf.tidy(() => {
    const attn = backbone.getLastSelfAttention(images);
    const [, heads, n1] = attn.shape;
    if (n1 - 1 !== h * w) {
      throw new ShapeError(`attention covers ${n1 - 1} patches, a ${H}x${W} image with patch ${backbone.patchSize} has ${h}x${w}`);
    }
    // Row 0 is the CLS query; columns 1.. are the patch keys in row-major grid order.
    const perHead = tf.reshape(tf.slice(attn, [0, 0, 0, 1], [b, heads, 1, n1 - 1]), [b, heads, h, w]) as tf.Tensor4D;
    return { perHead, mean: tf.mean(perHead, 1) as tf.Tensor3D };
  });
}

/**
 * Mass-threshold mask of one attention map (the block of visualize_attention.py): sort ascending,
 * normalise by the sum, cumulative sum, keep the patches whose cumulative value exceeds
 * 1 - threshold, i.e. the smallest set of largest values holding `threshold` of the mass. The
 * arithmetic follows torch's: float32 division, cumulative sum accumulated in double and stored as
 * float32, compared with float32(1 - threshold).
 */
export function attentionMaskArray(
  values: ArrayLike<number>,
  threshold: number = DEFAULTS.attention.threshold,
  out: Uint8Array = new Uint8Array(values.length),
): Uint8Array {
  checkNumber('threshold', threshold, { min: 0, max: 1 });
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.fround(values[i]);
  const s = Math.fround(sum);
  const cut = Math.fround(1 - threshold);
  let cum = 0;
  for (const i of order) {
    cum += Math.fround(Math.fround(values[i]) / s);
    out[i] = Math.fround(cum) > cut ? 1 : 0;
  }
  return out;
}

/**
 * The mask of every map of `attn` (over its last two dims [h, w]): a float32 0/1 tensor of the same
 * shape. Async because the sort runs on the host.
 *
 * @example
 * const masks = await attentionMask(perHead, 0.6); // [B, heads, h, w]
 */
export async function attentionMask(attn: tf.Tensor, threshold: number = DEFAULTS.attention.threshold): Promise<tf.Tensor> {
  if (attn.rank < 2) throw new ShapeError(`attentionMask: expected [..., h, w], got shape [${attn.shape}]`);
  const [h, w] = attn.shape.slice(-2);
  const data = (await attn.data()) as Float32Array;
  const out = new Float32Array(data.length);
  const row = new Uint8Array(h * w);
  for (let off = 0; off < data.length; off += h * w) {
    attentionMaskArray(data.subarray(off, off + h * w), threshold, row);
    out.set(row, off);
  }
  return tf.tensor(out, attn.shape, 'float32');
}

/**
 * Nearest upsampling of the last two dims by an integer factor (F.interpolate(scale_factor = patch
 * size, mode = 'nearest') of the reference): [..., h, w] -> [..., h * f, w * f].
 */
export function upsampleNearest<T extends tf.Tensor>(x: T, factor: number): T {
  checkInt('factor', factor, 1);
  if (x.rank < 2) throw new ShapeError(`upsampleNearest: expected [..., h, w], got shape [${x.shape}]`);
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -2);
    const [h, w] = x.shape.slice(-2);
    const m = lead.reduce((a, b) => a * b, 1);
    const up = tf.tile(tf.reshape(x, [m, h, 1, w, 1]), [1, 1, factor, 1, factor]);
    return tf.reshape(up, [...lead, h * factor, w * factor]) as T;
  });
}
