import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@dino-ts/core';
import type { Batch } from './types';

/**
 * A batch's images as an NHWC float32 tensor [B, H, W, C] with values in [0, 1] (one new
 * tensor, no temporaries; the caller disposes it).
 *
 * @example
 * const x = toTensor(await shapes.getBatch([0, 1, 2, 3])); // [4, 32, 32, 3]
 */
export function toTensor(batch: Pick<Batch, 'images' | 'shape'>): tf.Tensor4D {
  const [b, h, w, c] = batch.shape;
  if (batch.images.length !== b * h * w * c) {
    throw new ShapeError(`toTensor: images has ${batch.images.length} values but shape [${batch.shape.join(', ')}] needs ${b * h * w * c}`);
  }
  return tf.tensor4d(batch.images, [b, h, w, c], 'float32');
}

/** A batch's masks as an int32 tensor [B, H, W] (throws when the batch has none). */
export function masksToTensor(batch: Pick<Batch, 'masks' | 'shape'>): tf.Tensor3D {
  const [b, h, w] = batch.shape;
  if (!batch.masks) throw new ShapeError('masksToTensor: the batch has no masks (its data set provides none)');
  if (batch.masks.length !== b * h * w) {
    throw new ShapeError(`masksToTensor: masks has ${batch.masks.length} values but [${b}, ${h}, ${w}] needs ${b * h * w}`);
  }
  return tf.tensor3d(Int32Array.from(batch.masks), [b, h, w], 'int32');
}
